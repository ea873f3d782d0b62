"""Units that never connect: `audit export` on the unit, `central receive-file` centrally, through
the same verifier as MQTT, epochs included; the lost entries go back on media (`audit recover`)."""

from __future__ import annotations

import json

from device.backup import restore_backup, write_backup
from tests.sync.conftest import DEVICE, central_env, fill


def _unit(run_cli, key_file, data_dir):
    env = {"FIELDFACE_KEY_FILE": str(key_file), "FIELDFACE_DATA_DIR": str(data_dir)}
    return lambda *args: run_cli(*args, env=env)


def test_media_round_trip_with_a_restore(tmp_path, store, audit, secret, fast_config, key_file, run_cli):
    unit = _unit(run_cli, key_file, store.data_dir)
    env = central_env(tmp_path)
    central = lambda *args: run_cli("central", "--store", str(tmp_path / "hq"), *args, env=env)  # noqa: E731
    assert central("init").returncode == 0
    assert unit("unit-card", "-o", str(tmp_path / "card.json")).returncode == 0
    added = central("unit", "add", str(tmp_path / "card.json"))
    assert added.returncode == 0 and f"registered unit {DEVICE}" in added.stdout, added.stderr
    again = central("unit", "add", str(tmp_path / "card.json"))
    assert again.returncode == 4 and "already registered" in again.stderr

    fill(audit, 20)
    backup = write_backup(store, tmp_path / "unit.ffb")
    fill(audit, 10, start=20)
    assert unit("audit", "export", "-o", str(tmp_path / "a.jsonl")).returncode == 0
    first = central("receive-file", str(tmp_path / "a.jsonl"))
    assert first.returncode == 0 and "30 new entries stored, verified head 30" in first.stdout, first.stderr
    assert "0 new entries stored" in central("receive-file", str(tmp_path / "a.jsonl")).stdout  # idempotent

    # An edited file is refused, naming the entry; nothing is stored from it.
    lines = (tmp_path / "a.jsonl").read_text().splitlines()
    lines[7] = lines[7].replace('"alice"', '"mallory"')
    (tmp_path / "edited.jsonl").write_text("\n".join(lines) + "\n")
    edited = central("receive-file", str(tmp_path / "edited.jsonl"))
    assert edited.returncode == 6 and "seq 7" in edited.stderr, edited.stderr

    # A file that starts after central's head says how to export instead (the old card's last
    # entries 31..35 never reach central: they are what the lost card takes with it).
    fill(audit, 5, start=30)
    assert unit("audit", "export", "--after", "32", "-o", str(tmp_path / "gap.jsonl")).returncode == 0
    gap = central("receive-file", str(tmp_path / "gap.jsonl"))
    assert gap.returncode == 7 and "export again with --after 30" in gap.stderr, gap.stderr

    # The unit is restored from the backup (head 20) and goes on; its next export opens epoch 1.
    restore_backup(backup.path, tmp_path / "restored", secret, fast_config, actor="os:test")
    restored = _unit(run_cli, key_file, tmp_path / "restored")
    assert restored("audit", "export", "-o", str(tmp_path / "b.jsonl")).returncode == 0
    second = central("receive-file", str(tmp_path / "b.jsonl"))
    assert second.returncode == 0, second.stderr
    assert "epoch 1" in second.stdout and "entries 21..30 were lost" in second.stdout

    units = json.loads(central("units", "--json").stdout)["units"]
    assert units[0]["epochs"][1]["lost"] == [21, 30]
    assert central("verify").returncode == 0

    rec = central("recovery", DEVICE, "-o", str(tmp_path / "rec.json"))
    assert rec.returncode == 0, rec.stderr
    applied = restored("audit", "recover", str(tmp_path / "rec.json"))
    assert applied.returncode == 0 and "10 lost entries verified" in applied.stdout, applied.stderr
    assert "already applied" in restored("audit", "recover", str(tmp_path / "rec.json")).stdout
    garbage = restored("audit", "recover", str(tmp_path / "card.json"))
    assert garbage.returncode == 2 and "malformed" in garbage.stderr
