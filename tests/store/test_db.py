import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import pytest

from device.errors import StoreError, WrongKeyError
from device.keys import MasterSecret, Purpose
from device.store import init_data_dir, open_store
from device.store.db import DB_FILE
from device.store.migrations import latest_version
from device.store.sealed import read_sealed, write_sealed
from tests.conftest import REPO

KNOWN = ["Zebulon Quixotic-Marchetti", "CASE-2026-XYZZY-0042", "witness statement 7f3a"]


def snapshot(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_init_makes_a_private_encrypted_data_dir(store):
    assert oct(store.data_dir.stat().st_mode & 0o777) == "0o700"
    for name in ("keyslots", DB_FILE):
        assert oct((store.data_dir / name).stat().st_mode & 0o777) == "0o600", name
    header = (store.data_dir / DB_FILE).read_bytes()[:16]
    assert header != b"SQLite format 3\x00"
    assert store.schema_version() == latest_version()
    assert store.meta()["device_id"] == "test-unit"
    assert store.check_integrity() == []


def test_init_refuses_an_existing_data_dir(store, secret, fast_config):
    before = snapshot(store.data_dir)
    with pytest.raises(StoreError, match="already exists"):
        init_data_dir(store.data_dir, secret, fast_config)
    assert snapshot(store.data_dir) == before


def test_init_into_an_empty_existing_folder_is_allowed(tmp_path, secret, fast_config):
    (tmp_path / "empty").mkdir()
    assert init_data_dir(tmp_path / "empty", secret, fast_config).schema_version() == latest_version()


def test_init_under_a_missing_parent_is_a_clear_error(tmp_path, secret, fast_config):
    with pytest.raises(StoreError, match="does not exist"):
        init_data_dir(tmp_path / "no" / "such" / "place", secret, fast_config)


def test_wrong_key_is_refused_and_changes_nothing_on_disk(store, fast_config):
    with store.transaction() as conn:
        conn.execute("INSERT INTO settings VALUES ('k', '\"v\"', '2026-01-01T00:00:00Z', 'tester')")
    before = snapshot(store.data_dir)
    with pytest.raises(WrongKeyError, match="does not unlock"):
        open_store(store.data_dir, MasterSecret(b"not the key", "key file"), fast_config)
    assert snapshot(store.data_dir) == before


def test_reopen_with_the_right_key_sees_committed_rows(store, secret, fast_config):
    with store.transaction() as conn:
        conn.execute("INSERT INTO settings VALUES ('k', '\"v\"', '2026-01-01T00:00:00Z', 'tester')")
    again = open_store(store.data_dir, secret, fast_config)
    assert again.counts()["settings"] == 1


def test_a_failed_transaction_leaves_nothing(store):
    with pytest.raises(RuntimeError), store.transaction() as conn:
        conn.execute("INSERT INTO settings VALUES ('k', '1', 't', 'u')")
        raise RuntimeError("power cut in the middle of an action")
    assert store.counts()["settings"] == 0


def test_not_a_data_dir_is_a_clear_error(tmp_path, secret, fast_config):
    with pytest.raises(StoreError, match="does not exist"):
        open_store(tmp_path / "missing", secret, fast_config)
    (tmp_path / "plain").mkdir()
    with pytest.raises(StoreError, match="not a fieldface data dir"):
        open_store(tmp_path / "plain", secret, fast_config)


def test_a_newer_schema_is_refused(store, secret, fast_config):
    with store.connection() as conn:
        conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    with pytest.raises(StoreError, match="newer than this software"):
        open_store(store.data_dir, secret, fast_config)


def test_locked_store_refuses_work(store):
    from device.errors import LockedError

    store.lock()
    with pytest.raises(LockedError):
        store.connect()


def test_no_known_string_is_readable_in_any_file_of_the_data_dir(store):
    key = store.keyring.subkey(Purpose.BLOBS)
    write_sealed(store.cache_dir / "note.bin", key, " / ".join(KNOWN).encode(), aad=b"test")
    assert read_sealed(store.cache_dir / "note.bin", key, aad=b"test").decode().startswith(KNOWN[0])
    writer = store.connect()  # held open so the WAL is still on disk while we scan
    try:
        with store.transaction(writer):
            for i, text in enumerate(KNOWN):
                writer.execute(
                    "INSERT INTO settings VALUES (?, ?, '2026-01-01T00:00:00Z', ?)",
                    (f"known{i}", json.dumps(text), text),
                )
        files = [p for p in store.data_dir.rglob("*") if p.is_file()]
        assert any(p.name.endswith("-wal") for p in files), "the scan must cover the WAL too"
        for path in files:
            data = path.read_bytes()
            for text in KNOWN:
                for encoded in (text.encode("utf-8"), text.encode("utf-16-le")):
                    assert encoded not in data, f"{text!r} readable in {path.name}"
            assert b"SQLite format 3" not in data
    finally:
        writer.close()
    # ... and after the last connection closes (WAL checkpointed into the main file).
    for path in (p for p in store.data_dir.rglob("*") if p.is_file()):
        assert KNOWN[0].encode() not in path.read_bytes()


WRITER = """
import sys
from device.config import validate_config
from device.keys import MasterSecret, Purpose
from device.store import open_store
store = open_store(sys.argv[1], MasterSecret(sys.argv[2].encode(), "key file"),
                   validate_config({"keys": {"argon2_memory_kib": 64, "argon2_iterations": 1, "argon2_lanes": 1}}))
conn = store.connect()
i = int(sys.argv[3])
while True:
    with store.transaction(conn):
        conn.execute("INSERT INTO settings VALUES (?, ?, 't', 'writer')", (f"row{i}", "x" * 300))
        conn.execute("INSERT OR REPLACE INTO meta VALUES ('last', ?)", (str(i),))
    print(i, flush=True)  # only after COMMIT returned: this row is promised durable
    i += 1
"""


@pytest.mark.slow
def test_kill_9_during_a_write_loop_loses_no_committed_row(store, secret, fast_config):
    promised: set[int] = set()
    start = 0
    for round_ in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(store.data_dir), secret.value.decode(), str(start)],
            stdout=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        deadline = time.monotonic() + 60
        seen = 0
        while seen < 150 + 70 * round_ and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            promised.add(int(line))
            seen += 1
        os.kill(proc.pid, signal.SIGKILL)  # mid-transaction, most likely
        proc.wait(timeout=10)
        proc.stdout.close()
        assert seen > 0, "writer produced nothing"
        reopened = open_store(store.data_dir, secret, fast_config)
        assert reopened.check_integrity() == []
        with reopened.connection() as conn:
            rows = {int(k[3:]) for (k,) in conn.execute("SELECT key FROM settings WHERE key LIKE 'row%'")}
            last = int(conn.execute("SELECT value FROM meta WHERE key = 'last'").fetchone()[0])
        assert promised <= rows, f"lost committed rows: {sorted(promised - rows)[:5]}"
        # Nothing half-written: every row that exists was written by a complete transaction.
        assert rows == set(range(0, last + 1))
        start = last + 1
