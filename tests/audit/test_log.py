import json
import subprocess
import sys
import threading
from itertools import pairwise

import pytest

from device.audit import AuditLog
from device.audit.entry import GENESIS
from device.errors import UsageError
from device.store.db import DatabaseError


def test_record_returns_a_chained_committed_entry(audit):
    first = audit.record("auth.login", actor="alice", role="examiner")
    second = audit.record("search.run", actor="alice", role="examiner", object="probe:ab12", case="C-7",
                          details={"offence": "robbery", "gallery_version": 3})  # fmt: skip
    assert (first.seq, second.seq) == (1, 2)
    assert first.prev == GENESIS and second.prev == first.hash
    assert second.computed_hash() == second.hash
    assert audit.head() == (2, second.hash)
    assert audit.entries() == [first, second]
    assert first.device == "test-unit" and first.at.endswith("Z") and first.mono_ns > 0 and first.boot


def test_newest_filters_by_case_and_a_literal_action_prefix(audit):
    """The audit viewer's page: newest first; '%' and '_' typed in the filter are not wildcards."""
    made = [audit.record(action, actor="alice", role="examiner", case=case) for action, case in
            (("exam.start", "C-1"), ("exam.search", "C-1"), ("examXsearch", "C-2"), ("exam.start", "C-2"))]  # fmt: skip
    assert [e.seq for e in audit.newest(10)] == [4, 3, 2, 1]
    assert [e.seq for e in audit.newest(10, case="C-1")] == [2, 1]
    assert [e.seq for e in audit.newest(10, action="exam.")] == [4, 2, 1]
    assert audit.newest(10, action="exam_") == [] and audit.newest(10, action="%") == []
    assert [e.seq for e in audit.newest(2, before=made[3].seq)] == [3, 2]


def test_the_database_refuses_update_and_delete(filled, store):
    with store.connection() as conn:
        for sql in (
            "UPDATE audit_log SET actor = 'mallory' WHERE seq = 3",
            "DELETE FROM audit_log WHERE seq = 10",
            "DELETE FROM audit_checkpoint",
            "UPDATE audit_checkpoint SET seq = 99",
        ):
            with pytest.raises(DatabaseError, match="append-only"):
                conn.execute(sql)
    assert filled.head()[0] == 10


def test_every_commit_is_fsynced_with_synchronous_full(audit):
    audit.record("auth.login", actor="a", role="r")
    assert audit._connection().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


@pytest.mark.parametrize(
    ("details", "match"),
    [
        ({"embedding": [0.1] * 128}, "no embeddings"),
        ({"face": "A" * 5000}, "no images"),
        ({"x": float("nan")}, "not plain JSON"),
        ({"blob": b"raw"}, "not plain JSON"),
    ],
)
def test_biometric_looking_details_are_refused(audit, details, match):
    with pytest.raises(UsageError, match=match):
        audit.record("enroll", actor="a", role="r", details=details)
    assert audit.head()[0] == 0


def test_bad_fields_are_refused(audit):
    with pytest.raises(UsageError, match="outcome"):
        audit.record("x", actor="a", role="r", outcome="maybe")
    with pytest.raises(UsageError, match="actor"):
        audit.record("x", actor="", role="r")


def test_concurrent_threads_share_commits_and_keep_one_chain(audit, store):
    def work():
        for _ in range(50):
            audit.record("candidate.view", actor="bob", role="examiner")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    entries = audit.entries()
    assert [e.seq for e in entries] == list(range(1, 401))
    assert all(b.prev == a.hash for a, b in pairwise(entries))
    with store.connection() as conn:
        commits = conn.execute("SELECT count(*) FROM audit_checkpoint").fetchone()[0]
    assert commits < 400, "group commit should put several entries into one commit"


def test_other_processes_append_to_the_same_chain(audit, store, secret, tmp_path):
    script = """
import sys
from device.config import validate_config
from device.keys import MasterSecret
from device.store import open_store
from device.audit import AuditLog
cfg = validate_config({"keys": {"argon2_memory_kib": 64, "argon2_iterations": 1, "argon2_lanes": 1}})
log = AuditLog(open_store(sys.argv[1], MasterSecret(bytes.fromhex(sys.argv[2]), "key file"), cfg))
for i in range(100):
    log.record("proc", actor="p" + sys.argv[3], role="r", details={"i": i})
"""
    procs = [subprocess.Popen([sys.executable, "-c", script, str(store.data_dir), secret.value.hex(), str(n)])
             for n in range(3)]  # fmt: skip
    for _ in range(100):
        audit.record("here", actor="main", role="r")
    assert [p.wait(timeout=60) for p in procs] == [0, 0, 0]
    entries = audit.entries()
    assert len(entries) == 400 and [e.seq for e in entries] == list(range(1, 401))
    assert all(b.prev == a.hash for a, b in pairwise(entries))
    assert {json.loads(json.dumps(e.actor)) for e in entries} == {"main", "p0", "p1", "p2"}


def test_append_in_commits_with_the_callers_transaction(audit, store):
    from device.audit import Draft

    with store.transaction() as conn:
        conn.execute("INSERT INTO settings VALUES ('x', '1', '2025-01-01T00:00:00Z', 'alice')")
        audit.append_in(conn, [Draft("config.change", "alice", "admin", object="settings:x")])
    with pytest.raises(RuntimeError), store.transaction() as conn:
        audit.append_in(conn, [Draft("config.change", "alice", "admin", object="settings:y")])
        raise RuntimeError("the action failed")
    assert [e.object for e in audit.entries()] == ["settings:x"]


def test_sync_cursor_never_moves_backwards(audit):
    audit.set_acked("central", 5, "ab" * 32)
    audit.set_acked("central", 3, "cd" * 32)
    assert audit.acked("central") == (5, "ab" * 32)
    assert audit.acked("elsewhere") == (0, GENESIS)


def test_a_second_instance_sees_the_same_log(filled, store):
    other = AuditLog(store)
    try:
        assert other.head() == filled.head()
        assert other.record("x", actor="a", role="r").seq == 11
    finally:
        other.close()
