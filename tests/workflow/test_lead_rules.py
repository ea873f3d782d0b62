"""Issue 15's rules: who releases, what follows a dissent, one possible lead, a below-line lead,
a probe that is the gallery's own photo."""

from __future__ import annotations

import pytest

from device.errors import NotAllowedError, StepError, UsageError
from tests.vision.conftest import photo_bytes
from tests.workflow.test_flow import ALL_SIMILAR, searched, to_review
from tests.workflow.test_policy_rules import change as set_policy


def entries(wf, action):
    return [e for e in wf.audit.entries() if e.action == action]


def test_release_is_the_supervisors_by_default_and_the_examiners_where_policy_says(wf, people):
    exam = to_review(wf, people)
    wf.submit_review(people["peer"], exam.id, 1, "same ears")
    with pytest.raises(NotAllowedError, match="a supervisor releases"):
        wf.release(people["exa"], exam.id)
    assert not wf.may_release(people["exa"], wf.examination(people["exa"], exam.id))
    set_policy(wf, "policy.release_by", "examiner")
    with pytest.raises(NotAllowedError, match="only the examiner of this examination or a supervisor"):
        wf.release(people["exb"], exam.id)
    wf.release(people["exa"], exam.id)
    assert entries(wf, "exam.release")[-1].role == "examiner"
    with pytest.raises(StepError, match="already released"):
        wf.release(people["boss"], exam.id)


def test_a_supervisor_never_releases_their_own_examination(wf, people):
    boss = wf.update_user(people["boss"], people["boss"].id, roles=["supervisor", "examiner"])
    exam = wf.start(boss, "CASE-9", "robbery", "warrant", photo_bytes("obama2.jpg"))
    assert not wf.may_release(boss, exam)


def test_a_dissent_ends_in_a_recorded_closure_by_the_examiner_or_a_supervisor(wf, people):
    exam = to_review(wf, people)
    wf.submit_review(people["peer"], exam.id, 2, "the nose differs")
    with pytest.raises(NotAllowedError):
        wf.close_without_lead(people["exb"], exam.id, "not mine")
    with pytest.raises(UsageError, match="reason"):
        wf.close_without_lead(people["boss"], exam.id, " ")
    closed = wf.close_without_lead(people["boss"], exam.id, "dissent upheld: no lead")
    assert closed.status == "closed"
    entry = entries(wf, "exam.close")[-1]
    assert (entry.actor, entry.role, entry.details["after"]) == ("boss", "supervisor", "dissent")
    with pytest.raises(StepError, match="closed without a lead"):
        wf.release(people["boss"], exam.id)


def test_only_one_possible_lead_is_accepted_when_choosing(wf, people):
    exam = searched(wf, people)
    wf.record_analysis(people["exa"], exam.id, 1, ALL_SIMILAR, {}, "possible-lead", "ears")
    with pytest.raises(UsageError, match="candidate 1 is already the possible lead"):
        wf.record_analysis(people["exa"], exam.id, 2, ALL_SIMILAR, {}, "possible-lead", "nose")
    wf.record_analysis(people["exa"], exam.id, 1, ALL_SIMILAR, {}, "possible-lead", "ears, saved again")


def test_a_lead_below_the_line_needs_a_recorded_justification(wf, people):
    exam = searched(wf, people)
    _facts, rows = wf.candidates(people["exa"], exam.id)
    low = next(r for r in rows if r["band"] == "below-line")
    with pytest.raises(UsageError, match=r"below the worth-examining line .* justification"):
        wf.record_analysis(people["exa"], exam.id, low["rank"], ALL_SIMILAR, {}, "possible-lead", "looks alike")
    wf.record_analysis(people["exa"], exam.id, low["rank"], ALL_SIMILAR, {}, "possible-lead", "looks alike",
                       "witness named him; the photo is 20 years old")  # fmt: skip
    entry = entries(wf, "exam.disposition")[-1]
    assert entry.details["below_line_justification"] == "witness named him; the photo is 20 years old"
    _facts, rows = wf.candidates(people["exa"], exam.id)
    assert "20 years old" in next(r for r in rows if r["rank"] == low["rank"])["reason"]


def test_a_probe_that_is_the_gallerys_own_photo_is_said_so(wf, people):
    exam = searched(wf, people, photo_bytes("obama.jpg"))  # enrolled as Person A
    _facts, rows = wf.candidates(people["exa"], exam.id)
    assert rows[0]["score"] > 0.99 and rows[0]["same_photo"]
    assert "looks like this gallery photo itself" in rows[0]["meaning"]
    assert not any(r["same_photo"] for r in rows[1:])
    other = searched(wf, people)  # obama2.jpg: another photo of Person A
    _facts, rows = wf.candidates(people["exa"], other.id)
    assert rows[0]["display_name"] == "Person A" and not rows[0]["same_photo"]


def test_a_corrected_disposition_says_what_it_replaces_and_the_report_counts_it_once(wf, people):
    from datetime import date

    from device.reports import period

    exam = searched(wf, people)
    wf.record_analysis(people["exa"], exam.id, 1, ALL_SIMILAR, {}, "inconclusive", "too blurred")
    wf.record_analysis(people["exa"], exam.id, 1, ALL_SIMILAR, {}, "excluded", "the ears differ")
    first, second = entries(wf, "exam.disposition")[-2:]
    assert first.details["replaces"] is None
    assert second.details["replaces"] == {"disposition": "inconclusive", "at": first.at}
    day = date.fromisoformat(second.at[:10])
    figures = period.compute(wf.audit.entries(), {}, day, day)
    assert figures["dispositions"]["total"] == 1 and figures["dispositions"]["excluded"] == 1
