"""Encrypted backup and restore on real SQLCipher data dirs: round trip while writers run, no
plaintext in the file, and every refusal (wrong key, damage, truncation, existing target) changes nothing."""

from __future__ import annotations

import threading

import pytest

from device import backup as backup_mod
from device.audit import AuditLog, verify_store
from device.audit.signing import parse_public_key
from device.backup import restore_backup, write_backup
from device.errors import StoreError, WrongKeyError
from device.keys import MasterSecret
from device.store import open_store

MARKER = "subject-marker-7f3a"


def _actions(store) -> list[str]:
    with store.connection() as conn:
        return [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY seq")]


def _fill(store, n: int = 20) -> None:
    audit = AuditLog(store)
    try:
        for i in range(n):
            audit.record("search.run", actor="alice", role="examiner", case="C-1", details={"note": MARKER, "i": i})
    finally:
        audit.close()


@pytest.fixture
def small_chunks(monkeypatch):
    """Records of 4 KiB, so that a small test database spans many of them."""
    monkeypatch.setattr(backup_mod, "CHUNK", 4096)


def test_round_trip_while_the_unit_writes(tmp_path, store, secret, fast_config, small_chunks):
    _fill(store)
    stop, written = threading.Event(), []

    def writer():  # another process's appends, as the running web unit would make them
        audit = AuditLog(store)
        try:
            while not stop.is_set():
                written.append(audit.record("gallery.view", actor="bob", role="examiner", details={"note": MARKER}))
        finally:
            audit.close()

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        info = write_backup(store, tmp_path / "unit.ffb")
    finally:
        stop.set()
        thread.join()
    assert written, "the writer ran during the backup"
    raw = info.path.read_bytes()
    for plain in (MARKER.encode(), b"test-unit", b"SQLite format 3", b"search.run"):
        assert plain not in raw
    assert info.path.stat().st_mode & 0o777 == 0o600
    assert not list(tmp_path.glob(".unit.ffb*")), "no snapshot or temp file is left beside the backup"

    restored, manifest = restore_backup(info.path, tmp_path / "restored", secret, fast_config, actor="os:test")
    assert manifest["device_id"] == "test-unit" and manifest["audit_head"] >= 20
    assert (tmp_path / "restored").stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "restored/cache").is_dir() and not (tmp_path / "restored/lockdown").exists()
    again = open_store(tmp_path / "restored", secret, fast_config)
    assert again.check_integrity() == []
    audit = AuditLog(again)
    try:
        report = verify_store(audit, parse_public_key(audit.signer.public_key_hex))
    finally:
        audit.close()
    assert report.ok, report.problems
    actions = _actions(again)
    # A consistent snapshot: every entry up to the manifest's head, plus the restore itself, last.
    assert actions[-1] == "store.restore" and actions.count("search.run") == 20
    assert len(actions) - 1 >= manifest["audit_head"]
    restored.lock()


def test_cli_backup_and_restore_are_audited(tmp_path, run_cli, key_file):
    env = {"FIELDFACE_KEY_FILE": str(key_file)}
    assert run_cli("--data-dir", str(tmp_path / "d"), "init", env=env).returncode == 0
    made = run_cli("--data-dir", str(tmp_path / "d"), "backup", "--out", str(tmp_path / "b.ffb"), env=env)
    assert made.returncode == 0, made.stderr
    assert "encrypted" in made.stdout
    done = run_cli("restore", str(tmp_path / "b.ffb"), "--data-dir", str(tmp_path / "r"), env=env)
    assert done.returncode == 0, done.stderr
    assert "verified" in done.stdout
    status = run_cli("--data-dir", str(tmp_path / "r"), "audit", "verify", env=env)
    assert status.returncode == 0, status.stdout + status.stderr
    # The source logs the backup; the restored copy logs its own restore.
    from device.config import validate_config
    from tests.conftest import FAST_KEYS

    config = validate_config({"keys": FAST_KEYS})
    secret = MasterSecret(key_file.read_bytes().strip(), "key file")
    assert _actions(open_store(tmp_path / "d", secret, config))[-1] == "store.backup"
    assert _actions(open_store(tmp_path / "r", secret, config))[-1] == "store.restore"
    # Refusals are one line with the store's exit code, and change nothing.
    again = run_cli("--data-dir", str(tmp_path / "d"), "backup", "--out", str(tmp_path / "b.ffb"), env=env)
    assert again.returncode == 4 and again.stderr.count("\n") == 1 and "already exists" in again.stderr
    over = run_cli("restore", str(tmp_path / "b.ffb"), "--data-dir", str(tmp_path / "r"), env=env)
    assert over.returncode == 4 and "refusing to overwrite" in over.stderr


def test_wrong_key_changes_nothing(tmp_path, store, fast_config, run_cli):
    info = write_backup(store, tmp_path / "b.ffb")
    other = tmp_path / "other.key"
    other.write_text("an entirely different key file 0123456789\n")
    result = run_cli("restore", str(info.path), "--data-dir", str(tmp_path / "r"), "--key-file", str(other))
    assert result.returncode == 3, result.stderr
    assert result.stderr.count("\n") == 1 and "wrong key" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["b.ffb", "config.toml", "data", "unit.key", "other.key"]
    )
    with pytest.raises(WrongKeyError):
        restore_backup(info.path, tmp_path / "r", MasterSecret(b"nope" * 8, "key file"), fast_config, actor="t")


def _record_starts(raw: bytes, header_end: int) -> list[int]:
    starts, at = [], header_end
    while at < len(raw):
        starts.append(at)
        at += 4 + int.from_bytes(raw[at : at + 4])
    return starts


def _damaged(raw: bytes, header_end: int) -> dict[str, bytes]:
    starts = _record_starts(raw, header_end)
    assert len(starts) > 3, "small_chunks makes several records"
    return {
        "empty": b"",
        "not a backup": b"PK\x03\x04" + raw[4:],
        "cut in the header": raw[: header_end - 10],
        "cut after the header": raw[:header_end],
        "cut mid-record": raw[: len(raw) // 2],
        "last record dropped": raw[: starts[-1]],  # ends cleanly on a record boundary
        "two records swapped": raw[: starts[1]]
        + raw[starts[2] : starts[3]]
        + raw[starts[1] : starts[2]]
        + raw[starts[3] :],
        "one bit flipped": raw[: len(raw) // 2] + bytes([raw[len(raw) // 2] ^ 1]) + raw[len(raw) // 2 + 1 :],
        "bytes appended": raw + b"\0" * 8,
        "header edited": raw.replace(b'"chunk": 4096', b'"chunk": 4097', 1),
    }


def test_damaged_or_truncated_backups_are_refused(tmp_path, store, secret, fast_config, small_chunks):
    _fill(store, 5)
    raw = write_backup(store, tmp_path / "good.ffb").path.read_bytes()
    header_end = len(backup_mod.MAGIC) + 4 + int.from_bytes(raw[len(backup_mod.MAGIC) : len(backup_mod.MAGIC) + 4])
    for name, body in _damaged(raw, header_end).items():
        bad = tmp_path / "bad.ffb"
        bad.write_bytes(body)
        with pytest.raises(StoreError) as err:
            restore_backup(bad, tmp_path / "r", secret, fast_config, actor="t")
        assert "\n" not in str(err.value), name
        assert not (tmp_path / "r").exists(), name
        assert not list(tmp_path.glob(".r.new-*")), name
    # The undamaged file still restores: the refusals above were about the damage.
    restore_backup(tmp_path / "good.ffb", tmp_path / "r", secret, fast_config, actor="t")[0].lock()


def test_a_backup_of_a_tampered_audit_log_is_refused(tmp_path, store, secret, fast_config):
    _fill(store, 5)
    with store.connection() as conn:  # someone with the DB key deletes an entry
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DROP TRIGGER audit_log_no_delete")
        conn.execute("DELETE FROM audit_log WHERE seq = 3")
        conn.execute("COMMIT")
    info = write_backup(store, tmp_path / "b.ffb")
    with pytest.raises(StoreError, match="audit log in the backup does not verify"):
        restore_backup(info.path, tmp_path / "r", secret, fast_config, actor="t")
    assert not (tmp_path / "r").exists()


def test_restore_into_an_empty_dir_and_refuse_a_non_empty_one(tmp_path, store, secret, fast_config):
    info = write_backup(store, tmp_path / "b.ffb")
    (tmp_path / "full").mkdir()
    (tmp_path / "full/precious").write_text("keep me")
    with pytest.raises(StoreError, match="refusing to overwrite"):
        restore_backup(info.path, tmp_path / "full", secret, fast_config, actor="t")
    assert (tmp_path / "full/precious").read_text() == "keep me"
    (tmp_path / "empty").mkdir()  # what systemd-tmpfiles leaves on a fresh unit
    restore_backup(info.path, tmp_path / "empty", secret, fast_config, actor="t")[0].lock()
    assert (tmp_path / "empty/fieldface.db").exists()
