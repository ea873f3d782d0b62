"""``fieldface audit verify / export / pubkey`` as a user runs them."""

import json

from device.audit import AuditLog
from device.config import validate_config
from device.keys import MasterSecret
from device.store import open_store
from tests.conftest import FAST_KEYS


def _fill(data_dir, key_file, n=5):
    store = open_store(data_dir, MasterSecret(key_file.read_bytes().rstrip(b"\n"), "key file"),
                       validate_config({"keys": FAST_KEYS}))  # fmt: skip
    log = AuditLog(store)
    for i in range(n):
        log.record("search.run", actor="alice", role="examiner", details={"i": i})
    log.close()
    return store


def test_verify_export_pubkey_round_trip(run_cli, tmp_path, key_file):
    env = {"FIELDFACE_KEY_FILE": str(key_file), "FIELDFACE_DATA_DIR": str(tmp_path / "d")}
    assert run_cli("init", "--device-id", "unit-9", env=env).returncode == 0
    store = _fill(tmp_path / "d", key_file)

    done = run_cli("audit", "verify", "--json", env=env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["device"] == "unit-9" and report["entries"] >= 5

    pub = run_cli("audit", "pubkey", env=env)
    device, key = pub.stdout.split()
    assert device == "unit-9" and key.startswith("ed25519:")
    (tmp_path / "unit-9.pub").write_text(pub.stdout)

    out = tmp_path / "export.jsonl"
    assert run_cli("audit", "export", "--after", "2", "-o", str(out), env=env).returncode == 0
    # Verifying an export needs no data dir and no key file: only the public key.
    plain = {"FIELDFACE_DATA_DIR": str(tmp_path / "nowhere")}
    ok = run_cli("audit", "verify", "--file", str(out), "--public-key", f"@{tmp_path / 'unit-9.pub'}", env=plain)
    assert ok.returncode == 0, ok.stderr

    lines = out.read_text().splitlines()
    out.write_text("\n".join(lines[:-2]) + "\n")
    cut = run_cli("audit", "verify", "--file", str(out), "--public-key", key, env=plain)
    assert cut.returncode == 6
    assert cut.stderr.count("\n") == 1 and "truncated" in cut.stderr

    with store.connection() as conn:
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute("DELETE FROM audit_log WHERE seq = 3")
    bad = run_cli("audit", "verify", env=env)
    assert bad.returncode == 6 and "deleted at seq 3" in bad.stdout and "FAILED" in bad.stderr


def test_verify_file_without_public_key_is_a_usage_error(run_cli, tmp_path):
    (tmp_path / "x.jsonl").write_text("{}\n")
    done = run_cli("audit", "verify", "--file", str(tmp_path / "x.jsonl"))
    assert done.returncode == 2 and "--public-key" in done.stderr


def test_init_and_rekey_are_audited(run_cli, tmp_path, key_file):
    env = {"FIELDFACE_KEY_FILE": str(key_file), "FIELDFACE_DATA_DIR": str(tmp_path / "d")}
    assert run_cli("init", "--device-id", "unit-3", env=env).returncode == 0
    new_key = tmp_path / "new.key"
    new_key.write_text("a-new-key-of-enough-length-0123456789\n")
    done = run_cli("rekey", "--new-key-file", str(new_key), env=env)
    assert done.returncode == 0, done.stderr
    weak = tmp_path / "weak.key"
    weak.write_text("short\n")
    env["FIELDFACE_KEY_FILE"] = str(new_key)
    assert run_cli("rekey", "--new-key-file", str(weak), env=env).returncode == 2
    out = tmp_path / "log.jsonl"
    assert run_cli("audit", "export", "-o", str(out), env=env).returncode == 0
    entries = [json.loads(line) for line in out.read_text().splitlines()[1:-1]]
    assert [(e["action"], e["outcome"]) for e in entries] == [
        ("store.init", "ok"), ("key.rekey", "ok"), ("key.rekey", "failed"),
    ]  # fmt: skip
    assert entries[1]["details"] == {"old_source": "key file", "new_source": "key file"}
    assert run_cli("audit", "verify", env=env).returncode == 0
