"""What central knows about its units, and what a unit says about its own sync."""

from __future__ import annotations

import json

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from device.central.units import fleet
from tests.sync.conftest import DEVICE, central_env, central_store, fill, make_config, wait_for


def _units(tmp_path) -> dict[str, dict]:
    store = central_store(tmp_path)
    try:
        return {u["unit"]: u for u in fleet(store, offline_after_s=60)}
    finally:
        store.close()


def _random_key() -> str:
    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return f"ed25519:{raw.hex()}"


def test_unit_status_is_central_within_a_heartbeat(tmp_path, pki, broker, audit, registry, services, run_cli):
    store = central_store(tmp_path)
    store.add_unit("unit-silent", "Never switched on", _random_key(), "{}", "test")
    store.close()
    cfg = make_config(pki, broker.port, tmp_path=tmp_path)
    services("receiver", cfg)
    fill(audit, 30)
    pub = services("publisher", audit, cfg.sync)
    wait_for(lambda: audit.acked("central")[0] == 30, 30, "30 entries acked")
    # The next heartbeat after the acks says backlog 0 at head 30, signed.
    wait_for(
        lambda: (_units(tmp_path)[DEVICE]["backlog"], _units(tmp_path)[DEVICE]["unit_head"]) == (0, 30),
        10,
        "a heartbeat with the new head",
    )
    unit = _units(tmp_path)[DEVICE]
    assert unit["online"] and not unit["never_reported"] and unit["behind"] == 0
    assert unit["verified_head"]["seq"] == 30 and unit["verified_head"]["epoch"] == 0
    assert unit["uptime_s"] > 0 and unit["disk"]["free_bytes"] > 0 and unit["version"]
    assert unit["rejects"] == 0 and unit["last_contact"]
    silent = _units(tmp_path)["unit-silent"]
    assert silent["never_reported"] and not silent["online"] and silent["last_contact"] is None

    env = central_env(tmp_path)
    listed = run_cli("central", "--store", str(tmp_path / "central"), "units", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    by_unit = {u["unit"]: u for u in json.loads(listed.stdout)["units"]}
    assert by_unit[DEVICE]["verified_head"]["seq"] == 30 and by_unit["unit-silent"]["never_reported"]
    text = run_cli("central", "--store", str(tmp_path / "central"), "units", env=env).stdout
    assert "never reported" in text and DEVICE in text

    pub.stop()  # a clean stop says offline
    wait_for(lambda: not _units(tmp_path)[DEVICE]["online"], 10, "offline after the unit's clean stop")
    assert _units(tmp_path)[DEVICE]["unit_head"] == 30, "what it last reported is kept"


def test_fieldface_status_shows_the_cursor_and_the_last_problem(
    tmp_path, pki, broker, audit, services, run_cli, key_file
):
    store = central_store(tmp_path)
    store.add_unit(DEVICE, "registered with another key", _random_key(), "{}", "test")
    store.close()
    cfg = make_config(pki, broker.port, tmp_path=tmp_path)
    services("receiver", cfg)
    fill(audit, 12)
    pub = services("publisher", audit, cfg.sync)
    wait_for(lambda: pub.result or _problem(audit), 20, "the receiver's refusal")
    pub.stop()
    env = {"FIELDFACE_KEY_FILE": str(key_file), "FIELDFACE_DATA_DIR": str(audit.store.data_dir)}
    out = run_cli("status", env=env)
    assert out.returncode == 0, out.stderr
    assert "sync:       central: acked up to seq 0 of 12 (backlog 12)" in out.stdout
    assert "last problem" in out.stdout and "bad-signature" in out.stdout
    data = json.loads(run_cli("status", "--json", env=env).stdout)["sync"]["central"]
    assert (data["acked_seq"], data["backlog"]) == (0, 12) and "bad-signature" in data["last_problem"]


def _problem(audit) -> bool:
    with audit.store.connection() as conn:
        return conn.execute("SELECT 1 FROM sync_status WHERE problem IS NOT NULL").fetchone() is not None
