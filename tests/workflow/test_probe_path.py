"""The one probe path: the examination holds the probe once, one analysis and one embedding per
image, the search recorded with its candidates and audit entries in one transaction, the policy
as the one source of rules, retention reaching every copy."""

from __future__ import annotations

import hashlib
import json

import pytest

from device.errors import ErasedError, UsageError
from device.gallery import Actor
from device.policy import set_setting
from tests.gallery.conftest import blurred, decrypted_pages, found_before, pieces_of, two_faces
from tests.workflow.conftest import probe

SUPERVISOR = Actor("boss", "supervisor")


def change(wf, key, value):
    set_setting(wf.store, wf.config, key, value, actor="boss", role="supervisor", reason="agency rule", audit=wf.audit)


def audit(wf, *actions):
    with wf.store.connection() as conn:
        rows = conn.execute("SELECT seq, action, body FROM audit_log ORDER BY seq").fetchall()
    return [(seq, action, json.loads(body)["details"]) for seq, action, body in rows if action in actions]


class Counting:
    """The real recognizer, counting what it is asked to do."""

    def __init__(self, real):
        self.real, self.analyzed, self.embedded = real, 0, 0

    def analyze(self, data):
        self.analyzed += 1
        return self.real.analyze(data)

    def embed(self, face):
        self.embedded += 1
        return self.real.embed(face)


def test_a_probe_is_stored_once_analysed_once_and_embedded_once(wf, people):
    exa = people["exa"]
    counting = wf.analyses.recognizer = Counting(wf.gallery.recognizer)
    data = probe()
    exam = wf.start(exa, "CASE-1", "robbery", "warrant 1", data)
    wf.analyze_working(exam)  # the probe and enhancement screens
    wf.choose_face(exa, exam.id, 0)
    result = wf.run_search(exa, exam.id)
    wf.analyze(wf.image(exa, exam.id, "searched"))  # the comparator
    assert (counting.analyzed, counting.embedded) == (1, 1)
    with wf.store.connection() as conn:
        held = conn.execute("SELECT count(*) FROM examinations WHERE probe_image = ?", (data,)).fetchone()[0]
        copies = conn.execute("SELECT count(*) FROM searches WHERE probe_image IS NOT NULL").fetchone()[0]
        cases = conn.execute("SELECT count(*) FROM cases").fetchone()[0]
    assert (held, copies, cases) == (1, 0, 1)
    assert result.probe_sha256 == hashlib.sha256(data).hexdigest()


def test_search_candidates_and_both_audit_entries_commit_together(wf, people):
    exa = people["exa"]
    exam = wf.start(exa, "CASE-1", "robbery", "warrant 1", probe())
    result = wf.run_search(exa, exam.id)
    (s_seq, _, search), (e_seq, _, exam_entry) = audit(wf, "search", "exam.search")
    assert e_seq == s_seq + 1 and exam_entry["search_id"] == search["search_id"] == result.search_id
    assert search["shown"] == [{"rank": c.rank, "subject": c.reference or c.subject_id, "score": round(c.score, 4)}
                               for c in result.candidates]  # fmt: skip
    assert search["shown"][0]["subject"] == "A-1"
    assert not any("Person" in json.dumps(d) for _s, _a, d in audit(wf, "search", "exam.search"))


def test_a_search_that_cannot_be_recorded_leaves_nothing_behind(wf, people, monkeypatch):
    exa = people["exa"]
    exam = wf.start(exa, "CASE-1", "robbery", "warrant 1", probe())

    def power_cut(conn, drafts):
        raise SystemExit("power cut before the commit")

    monkeypatch.setattr(wf.audit, "append_in", power_cut)
    with pytest.raises(SystemExit):
        wf.run_search(exa, exam.id)
    monkeypatch.undo()
    assert wf.examination(exa, exam.id).status == "open"
    assert wf.store.counts()["searches"] == 0 and wf.store.counts()["candidates"] == 0


def test_a_multi_face_probe_needs_a_chosen_face(wf, people):
    exa = people["exa"]
    exam = wf.start(exa, "CASE-1", "robbery", "warrant 1", two_faces())
    with pytest.raises(UsageError, match="2 faces: choose one"):
        wf.run_search(exa, exam.id)
    with pytest.raises(UsageError, match=r"choose one of the 2 faces found \(0 to 1\)"):
        wf.choose_face(exa, exam.id, 5)
    assert wf.run_search(exa, exam.id, 1).face["index"] == 1


def test_a_failing_probe_is_refused_and_recorded_until_a_supervisor_overrides(wf, people):
    exa, boss = people["exa"], people["boss"]
    exam = wf.start(exa, "CASE-1", "robbery", "warrant 1", blurred("obama2.jpg", sigma=14))
    with pytest.raises(UsageError, match="fails the quality assessment"):
        wf.run_search(exa, exam.id)
    assert [d["reason"] for _s, _a, d in audit(wf, "search.refused")] == ["quality"]
    wf.override_quality(boss, exam.id, "only photo of the suspect")
    result = wf.run_search(exa, exam.id)
    assert audit(wf, "search")[0][2]["quality_override"] == "only photo of the suspect" and result.search_id


def test_offence_categories_come_from_the_policy_at_step_one_and_at_the_search(wf, people):
    exa = people["exa"]
    change(wf, "search.offense_categories", ["arson"])
    exam = wf.start(exa, "CASE-1", "arson", "warrant 1", probe())  # refused before: not in the config
    with pytest.raises(UsageError, match="'robbery' is not allowed on this unit"):
        wf.start(exa, "CASE-2", "robbery", "warrant 1", probe())  # accepted before, refused at the search
    assert wf.run_search(exa, exam.id).candidates


def test_quality_thresholds_from_the_policy_agree_on_screen_in_the_audit_and_at_the_search(wf, people):
    exa = people["exa"]
    exam = wf.start(exa, "CASE-1", "robbery", "warrant 1", probe())
    change(wf, "vision.quality", {"sharpness": [1e9, 1e8]})  # nothing is that sharp
    assert wf.analyze_working(exam).faces[0].quality.verdict == "fail"
    wf.choose_face(exa, exam.id, 0)
    assert audit(wf, "exam.face")[-1][2]["quality"] == "fail"
    with pytest.raises(UsageError, match="fails the quality assessment"):
        wf.run_search(exa, exam.id)


def test_top_k_and_the_line_come_from_the_policy(wf, people):
    exa = people["exa"]
    change(wf, "search.top_k", 1)
    change(wf, "search.worth_examining", 0.99)
    exam = wf.start(exa, "CASE-1", "robbery", "warrant 1", probe())
    result = wf.run_search(exa, exam.id)
    assert len(result.candidates) == 1 and result.candidates[0].band == "below-line"
    facts, _rows = wf.candidates(exa, exam.id)
    assert (facts["top_k"], facts["worth_examining"]) == (1, 0.99)


def test_the_searching_marker_is_up_while_the_search_runs(wf, people, tmp_path, monkeypatch):
    from device.workflow.activity import Activity

    exa = people["exa"]
    wf.activity = Activity(tmp_path / "run")
    marker = tmp_path / "run" / "activity" / "searching"
    seen = []
    real = wf.gallery.search

    def watching(*args):
        seen.append(marker.exists())
        return real(*args)

    monkeypatch.setattr(wf.gallery, "search", watching)
    exam = wf.start(exa, "CASE-1", "robbery", "warrant 1", probe())
    wf.run_search(exa, exam.id)
    assert seen == [True] and not marker.exists()


def wal_pages(store) -> bytes:
    """The WAL's frames decrypted by hand (before any checkpoint), like decrypted_pages for the file."""
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    from device.keys import Purpose

    path = store.data_dir / "fieldface.db-wal"
    raw = path.read_bytes() if path.exists() else b""
    key, size, reserve, out = store.keyring.subkey(Purpose.DATABASE), 4096, 80, []
    for offset in range(32, len(raw) - 24 - size + 1, 24 + size):
        page_no = int.from_bytes(raw[offset : offset + 4], "big")
        page = raw[offset + 24 : offset + 24 + size]
        start = 16 if page_no == 1 else 0
        decryptor = Cipher(algorithms.AES(key), modes.CBC(page[size - reserve : size - reserve + 16])).decryptor()
        out.append(decryptor.update(page[start : size - reserve]) + decryptor.finalize())
    return b"".join(out)


def test_retention_erases_every_copy_of_the_probe_except_on_legal_hold(wf, people, clock):
    exa = people["exa"]
    data = probe()
    pieces = pieces_of(data)
    exam = wf.start(exa, "CASE-1", "robbery", "warrant 1", data)
    edited = wf.apply_edit(exa, exam.id, "rotate", {"degrees": "2"})
    with wf.store.connection() as conn:
        working = conn.execute("SELECT working_image FROM examinations WHERE id = ?", (exam.id,)).fetchone()[0]
    work_pieces = pieces_of(bytes(working))
    wf.run_search(exa, exam.id)
    held = wf.start(exa, "CASE-HOLD", "robbery", "warrant 2", probe("obama3.jpg"))
    wf.gallery.set_legal_hold("CASE-HOLD", True, SUPERVISOR, reason="appeal pending")
    # The scanners can fail: before the purge they find the bytes (file or WAL).
    before = wal_pages(wf.store) + decrypted_pages(wf.store)
    pieces, work_pieces = found_before(pieces, before), found_before(work_pieces, before)

    assert wf.purge(SUPERVISOR).examinations == [], "nothing is due yet"
    clock.advance(days=wf.policy().probe_retain_days + 1)
    report = wf.purge(SUPERVISOR)
    assert (report.examinations, report.held_examinations) == ([exam.id], [held.id])
    after = wal_pages(wf.store) + decrypted_pages(wf.store)  # free pages and WAL included
    assert not any(p in after for p in pieces + work_pieces)
    assert hashlib.sha256(data).hexdigest() == exam.probe_sha256 and edited.working_sha256

    still = wf.examination(exa, exam.id)  # readable: hashes, search, candidates, the erasure date
    assert still.images_erased_at and still.probe_sha256 == exam.probe_sha256 and still.search_id
    assert wf.candidates(exa, exam.id)[1][0]["reference"] == "A-1"
    with pytest.raises(ErasedError, match="erased under the retention policy"):
        wf.image(exa, exam.id, "original")
    assert wf.image(exa, held.id, "original") == probe("obama3.jpg"), "legal hold keeps the probe"
    assert len(wf.analyses) <= 1, "the cached analysis of the erased probe is gone"
    detail = wf.case_detail("CASE-1")["examinations"][0]
    assert detail["images"] == {"original": "erased", "working": "erased", "erased_at": still.images_erased_at}
    entry = audit(wf, "purge.probes")[-1][2]
    assert entry["examinations"] == [exam.id] and entry["held_examinations"] == [held.id]
