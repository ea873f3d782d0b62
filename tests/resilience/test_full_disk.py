"""A full disk stops writes with one clear error and leaves a store that opens and verifies.

Real ENOSPC: the data dir lives on a 4 MiB tmpfs mounted for the test (needs root and mount(2);
skipped otherwise, never simulated), filled to the last byte by a filler file.
"""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path

import pytest

from device.audit import AuditLog, verify_store
from device.audit.signing import parse_public_key
from device.errors import StoreError
from device.store import init_data_dir, open_store
from web import create_app


def mounted_tmpfs(mnt: Path, size: str):
    """For fixtures (``yield from``): a real small filesystem at ``mnt`` that a test can fill to the
    last byte, unmounted afterwards."""
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(mnt)],
                             capture_output=True, text=True, check=False)  # fmt: skip
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=True)


@pytest.fixture
def small_disk(tmp_path):
    yield from mounted_tmpfs(tmp_path / "disk", "4m")


def fill_up(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
        try:
            while True:  # the last partial block
                f.write(b"\0" * 512)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    return filler


def test_full_disk_refuses_writes_then_recovers(small_disk, secret, fast_config, key_file, run_cli):
    data_dir = small_disk / "data"
    store = init_data_dir(data_dir, secret, fast_config, device_id="test-unit")
    audit = AuditLog(store)  # a running unit's connection: its -wal and -shm exist
    for i in range(5):
        audit.record("search.run", actor="alice", role="examiner", details={"i": i})
    with store.connection() as conn:  # the WAL emptied to 0 bytes: the next write must grow it
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    filler = fill_up(small_disk)

    # A write on an open connection meets SQLITE_FULL (the audit log's own write path) ...
    with pytest.raises(StoreError) as err:
        audit.record("search.run", actor="alice", role="examiner", details={"i": 99})
    assert "is full" in str(err.value) and "\n" not in str(err.value)
    # ... and a new connection, which must grow the -shm file, says the same, not "damaged".
    with pytest.raises(StoreError, match="is full"):
        AuditLog(store).record("search.run", actor="alice", role="examiner", details={"i": 98})
    # Through the CLI: an audited policy change (settings row + audit entry in one transaction).
    env = {"FIELDFACE_KEY_FILE": str(key_file)}
    result = run_cli("--data-dir", str(data_dir), "policy", "set", "search.top_k", "25", "--reason", "test", env=env)
    assert result.returncode == 4, result.stderr
    assert result.stderr.count("\n") == 1 and "is full" in result.stderr
    # /healthz says so (the threshold is far above what is left).
    health = create_app(store, fast_config, {"TESTING": True}).test_client().get("/healthz")
    assert health.status_code == 200
    body = health.get_json()
    assert body["status"] == "degraded" and body["disk"]["low"] and body["disk"]["free_bytes"] < 64 << 10

    filler.unlink()
    audit.close()
    again = open_store(data_dir, secret, fast_config)
    assert again.check_integrity() == []
    audit = AuditLog(again)
    try:
        report = verify_store(audit, parse_public_key(audit.signer.public_key_hex))
        assert report.ok and report.head_seq == 5, report  # the refused writes left nothing
        audit.record("search.run", actor="alice", role="examiner", details={"i": 100})
    finally:
        audit.close()
    ok = create_app(again, fast_config, {"TESTING": True, "MIN_FREE_BYTES": 1}).test_client().get("/healthz")
    assert ok.get_json()["status"] == "ok"
