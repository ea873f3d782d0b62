"""audit verify beyond the chain: the query columns against the signed body, and the rows that cite entries."""

from __future__ import annotations

import pytest

from device.audit import verify_store
from device.gallery import Gallery
from tests.gallery.conftest import EXAMINER, subject
from tests.vision.conftest import photo_bytes


def kinds(report):
    return [(p.kind, p.seq) for p in report.problems]


@pytest.mark.parametrize("column, value", [("actor", "mallory"), ("case_id", "C-999"), ("action", "login"),
                                           ("at", "2020-01-01T00:00:00.000Z"), ("outcome", "denied")])  # fmt: skip
def test_a_summary_column_edited_beside_the_signed_body_is_named(filled, public_key, tamper, column, value):
    tamper((f"UPDATE audit_log SET {column} = ? WHERE seq = 4", (value,)))  # noqa: S608 - test's own names
    report = verify_store(filled, public_key)
    assert kinds(report) == [("edited", 4)]
    assert f"its {column} column says {value!r}" in report.problems[0].message


@pytest.fixture
def enrolled(store, recognizer, fast_config):
    """Two enrolled images (rows holding the seq of their audit entries) and some entries after them."""
    gallery = Gallery(store, recognizer, fast_config)
    for name in ("obama.jpg", "biden.jpg"):
        assert gallery.enroll(subject(name), [(name, photo_bytes(name))], EXAMINER).enrolled
    gallery.audit.record("report.generate", actor="alice", role="auditor")
    return gallery.audit


def test_rows_hold_the_seq_of_their_audit_entry_and_an_honest_log_verifies(enrolled, public_key, store):
    with store.connection() as conn:
        seqs = [r[0] for r in conn.execute("SELECT audit_seq FROM face_images ORDER BY id")]
        actions = [conn.execute("SELECT action FROM audit_log WHERE seq = ?", (s,)).fetchone()[0] for s in seqs]
    assert actions == ["gallery.enroll", "gallery.enroll"]
    assert verify_store(enrolled, public_key).ok


def test_an_emptied_log_is_named_while_rows_it_vouched_for_remain(enrolled, public_key, tamper):
    tamper("DELETE FROM audit_log", "DELETE FROM audit_checkpoint", "DELETE FROM audit_sync")
    report = verify_store(enrolled, public_key)
    assert [p.kind for p in report.problems] == ["truncated"]
    assert "2 enrolled image(s)" in report.problems[0].message and "the log ends at 0" in report.problems[0].message


def test_a_tail_cut_with_its_checkpoints_is_named(enrolled, public_key, tamper, store):
    with store.connection() as conn:
        last_enroll = conn.execute("SELECT max(audit_seq) FROM face_images").fetchone()[0]
    tamper(
        ("DELETE FROM audit_log WHERE seq >= ?", (last_enroll,)),
        ("DELETE FROM audit_checkpoint WHERE seq >= ?", (last_enroll,)),
    )
    report = verify_store(enrolled, public_key)
    assert kinds(report) == [("truncated", last_enroll)]


def test_an_entry_rewritten_to_name_another_row_is_named(enrolled, public_key, tamper, store):
    with store.connection() as conn:
        seq = conn.execute("SELECT min(audit_seq) FROM face_images").fetchone()[0]
    tamper(("UPDATE audit_log SET object = 'subject:99/image:99' WHERE seq = ?", (seq,)))
    found = kinds(verify_store(enrolled, public_key))
    assert found.count(("edited", seq)) == 2  # the column against the body, and the row against the entry
