"""The five steps end to end in the domain, and the rules that guard each step."""

from __future__ import annotations

import hashlib

import pytest

from device.audit import verify_store
from device.audit.signing import parse_public_key
from device.errors import ImageError, NotAllowedError, StepError, UsageError
from device.workflow.analysis import FEATURES
from tests.gallery.conftest import blurred
from tests.workflow.conftest import probe

ALL_SIMILAR = {key: "similar" for key, _ in FEATURES}


def searched(wf, people, image=None):
    exam = wf.start(people["exa"], "CASE-1", "robbery", "warrant 12/2025", image or probe())
    wf.run_search(people["exa"], exam.id)
    return wf.examination(people["exa"], exam.id)


def to_review(wf, people):
    exam = searched(wf, people)
    wf.record_analysis(people["exa"], exam.id, 1, ALL_SIMILAR, {}, "possible-lead", "ear shape and mole agree")
    wf.record_analysis(people["exa"], exam.id, 2, {**ALL_SIMILAR, "nose": "dissimilar"}, {}, "excluded", "nose")
    return wf.submit_for_review(people["exa"], exam.id, "seen near the scene on the day (CCTV log 4)")


def test_five_steps_to_a_released_report_with_a_verifiable_audit_trail(wf, people):
    exa, peer = people["exa"], people["peer"]
    original = probe()
    exam = wf.start(exa, "CASE-1", "robbery", "warrant 12/2025", original)
    assert exam.step == 2 and exam.probe_sha256 == hashlib.sha256(original).hexdigest()  # one face: chosen
    edited = wf.apply_edit(exa, exam.id, "brightness_contrast", {"brightness": "10", "contrast": "1.1"})
    edited = wf.apply_edit(exa, exam.id, "crop", {"x0": 0.05, "y0": 0.05, "x1": 0.95, "y1": 0.95})
    assert edited.working_sha256 != exam.probe_sha256 and edited.face_index is None
    result = wf.run_search(exa, exam.id)
    exam = wf.examination(exa, exam.id)
    assert exam.status == "analysis" and exam.searched_sha256 == edited.working_sha256
    assert result.candidates[0].display_name == "Person A"
    exam = to_review_from(wf, people, exam)
    assert exam.status == "review" and [e.id for e in wf.review_queue(peer)] == [exam.id]
    blind = wf.blind_view(peer, exam.id)
    assert all(c["disposition"] is None for c in blind["candidates"]) and "corroboration" not in blind
    exam = wf.submit_review(peer, exam.id, 1, "same ear helix and lobe, same mole")
    assert exam.status == "concurred"
    with pytest.raises(StepError):
        wf.report(exa, exam.id)
    with pytest.raises(NotAllowedError, match="a supervisor releases"):  # policy release_by: supervisor
        wf.release(exa, exam.id)
    wf.release(people["boss"], exam.id)
    report = wf.report(exa, exam.id)
    assert "not a positive identification" in report["statement"] and "not probable cause" in report["statement"]
    assert report["exam"]["probe_sha256"] == hashlib.sha256(original).hexdigest()
    assert [e["op"] for e in report["edits"]] == ["brightness_contrast", "crop"]
    assert report["reviewer"]["reviewer"] == "peer" and report["examiner"]["username"] == "exa"
    actions = [e["action"] for e in report["timeline"]]
    assert actions == [
        "exam.start",
        "exam.enhance",
        "exam.enhance",
        "search",
        "exam.search",
        "exam.disposition",
        "exam.submit_review",
        "exam.review",
        "exam.release",
    ]
    assert report["released"]["audit_seq"] == report["timeline"][-1]["seq"]
    assert verify_store(wf.audit, parse_public_key(wf.audit.signer.public_key_hex)).ok


def to_review_from(wf, people, exam):
    wf.record_analysis(people["exa"], exam.id, 1, ALL_SIMILAR, {"ears": "lobe attached"}, "possible-lead", "ears")
    return wf.submit_for_review(people["exa"], exam.id, "seen near the scene on the day")


def test_the_examiner_can_never_verify_their_own_examination(wf, people):
    people_peer_as_examiner = people["peer"]  # holds both roles
    exam = wf.start(people_peer_as_examiner, "CASE-2", "fraud", "order 7", probe())
    wf.run_search(people_peer_as_examiner, exam.id)
    wf.record_analysis(people_peer_as_examiner, exam.id, 1, ALL_SIMILAR, {}, "possible-lead", "r")
    wf.submit_for_review(people_peer_as_examiner, exam.id, "notes")
    assert wf.review_queue(people_peer_as_examiner) == []
    with pytest.raises(NotAllowedError, match="never verify"):
        wf.submit_review(people_peer_as_examiner, exam.id, 1, "looks right")


def test_review_needs_the_reviewer_role_and_a_dissent_blocks_release(wf, people):
    exam = to_review(wf, people)
    with pytest.raises(NotAllowedError, match="reviewer"):
        wf.submit_review(people["exb"], exam.id, 1, "agree")
    exam = wf.submit_review(people["peer"], exam.id, 2, "the nose differs from candidate 1")
    assert exam.status == "dissented"
    with pytest.raises(StepError, match="dissented: no lead report can be released"):
        wf.release(people["boss"], exam.id)


def test_expired_training_blocks_searching_and_reviewing(wf, people, clock):
    exam = to_review(wf, people)
    wf.update_user(people["boss"], people["peer"].id, training_valid_until="2020-01-01")
    wf.update_user(people["boss"], people["exb"].id, training_valid_until="2020-01-01")
    peer = next(u for u in wf.list_users(people["boss"]) if u.username == "peer")
    exb = next(u for u in wf.list_users(people["boss"]) if u.username == "exb")
    with pytest.raises(NotAllowedError, match="training expired"):
        wf.submit_review(peer, exam.id, 1, "agree")
    with pytest.raises(NotAllowedError, match="training"):
        wf.start(exb, "CASE-3", "fraud", "order", probe())


def test_a_search_needs_case_offence_and_purpose_and_nothing_is_half_saved(wf, people):
    exa = people["exa"]
    bad = (("", "robbery", "p", "case number"), ("C-1", "", "p", "offence"),
           ("C-1", "jaywalking", "p", "not allowed"), ("C-1", "robbery", " ", "purpose"))  # fmt: skip
    for case, offense, purpose, match in bad:
        with pytest.raises(UsageError, match=match):
            wf.start(exa, case, offense, purpose, probe())
    with pytest.raises(ImageError):
        wf.start(exa, "C-1", "robbery", "p", b"not an image at all")
    with pytest.raises(NotAllowedError):
        wf.start(people["aud"], "C-1", "robbery", "p", probe())
    assert wf.list_examinations(people["boss"]) == []


def test_a_failing_probe_needs_a_supervisors_recorded_override(wf, people):
    exa = people["exa"]
    exam = wf.start(exa, "CASE-4", "assault", "warrant", blurred("obama2.jpg", sigma=14))
    with pytest.raises(UsageError, match="quality"):
        wf.run_search(exa, exam.id)
    with pytest.raises(NotAllowedError, match="supervisor"):
        wf.override_quality(exa, exam.id, "only picture we have")
    with pytest.raises(UsageError, match="reason"):
        wf.override_quality(people["boss"], exam.id, "  ")
    wf.override_quality(people["boss"], exam.id, "only picture of the suspect")
    wf.run_search(exa, exam.id)
    assert wf.examination(exa, exam.id).status == "analysis"


def test_another_users_examination_is_refused(wf, people):
    exam = wf.start(people["exa"], "CASE-5", "fraud", "order", probe())
    with pytest.raises(NotAllowedError, match="another user"):
        wf.examination(people["exb"], exam.id)
    with pytest.raises(NotAllowedError):
        wf.apply_edit(people["exb"], exam.id, "rotate", {"degrees": 90})
    assert wf.examination(people["aud"], exam.id).id == exam.id  # auditors read


def test_a_disposition_needs_the_whole_checklist_and_a_reason(wf, people):
    exam = searched(wf, people)
    with pytest.raises(UsageError, match="missing: Ears"):
        wf.record_analysis(people["exa"], exam.id, 1, {k: v for k, v in ALL_SIMILAR.items() if k != "ears"}, {},
                           "excluded", "r")  # fmt: skip
    with pytest.raises(UsageError, match="reason"):
        wf.record_analysis(people["exa"], exam.id, 1, ALL_SIMILAR, {}, "excluded", "")
    with pytest.raises(UsageError, match="disposition"):
        wf.record_analysis(people["exa"], exam.id, 1, ALL_SIMILAR, {}, "match", "r")
    with pytest.raises(UsageError, match="exactly one"):
        wf.submit_for_review(people["exa"], exam.id, "notes")


def test_enhancement_keeps_the_original_and_refuses_unknown_operations(wf, people):
    exam = wf.start(people["exa"], "CASE-6", "fraud", "order", probe())
    with pytest.raises(UsageError, match="unknown enhancement"):
        wf.apply_edit(people["exa"], exam.id, "paste_feature", {})
    with pytest.raises(UsageError, match="outside"):
        wf.apply_edit(people["exa"], exam.id, "rotate", {"degrees": 400})
    wf.apply_edit(people["exa"], exam.id, "rotate", {"degrees": 3})
    wf.apply_edit(people["exa"], exam.id, "denoise", {"strength": 4})
    back = wf.apply_edit(people["exa"], exam.id, "reset", {})
    assert back.working_sha256 is None and back.current_sha256 == exam.probe_sha256
    assert [e["op"] for e in wf.edits(exam.id)] == ["rotate", "denoise", "reset"]
    assert wf.preview_edit(people["exa"], exam.id, "rotate", {"degrees": 90})[:2] == b"\xff\xd8"


def test_closing_without_a_lead(wf, people):
    exam = searched(wf, people)
    wf.record_analysis(people["exa"], exam.id, 1, ALL_SIMILAR, {}, "inconclusive", "too blurred")
    closed = wf.close_without_lead(people["exa"], exam.id, "no candidate stands out")
    assert closed.status == "closed"
    with pytest.raises(StepError):
        wf.submit_for_review(people["exa"], exam.id, "notes")
