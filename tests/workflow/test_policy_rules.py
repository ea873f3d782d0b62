"""The agency policy switches the workflow reads (device/policy.py): each changes what the rules allow."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from device.errors import NotAllowedError, UsageError
from device.policy import set_setting
from tests.workflow.conftest import PASSWORD, probe
from tests.workflow.test_flow import to_review


def change(wf, key, value):
    set_setting(wf.store, wf.config, key, value, actor="boss", role="supervisor", reason="agency rule", audit=wf.audit)


def test_enhancement_switched_off_refuses_edits_but_not_going_back_to_the_original(wf, people):
    exa = people["exa"]
    exam = wf.start(exa, "CASE-P1", "robbery", "warrant 1", probe())
    wf.apply_edit(exa, exam.id, "rotate", {"degrees": "2"})
    change(wf, "policy.enhancement_allowed", False)
    with pytest.raises(NotAllowedError, match="switched off by the agency's policy"):
        wf.apply_edit(exa, exam.id, "rotate", {"degrees": "3"})
    with pytest.raises(NotAllowedError):
        wf.preview_edit(exa, exam.id, "denoise", {"strength": "5"})
    back = wf.apply_edit(exa, exam.id, "reset", {})
    assert back.current_sha256 == back.probe_sha256
    assert wf.run_search(exa, exam.id).candidates, "the original can still be searched"


def test_review_is_blind_by_default_and_shows_the_dispositions_when_the_policy_says_so(wf, people):
    exam = to_review(wf, people)
    blind = wf.blind_view(people["peer"], exam.id)
    assert blind["blind"] and all(c["disposition"] is None for c in blind["candidates"])
    change(wf, "policy.blind_review", False)
    open_view = wf.blind_view(people["peer"], exam.id)
    assert not open_view["blind"]
    assert {c["rank"]: c["disposition"] for c in open_view["candidates"] if c["disposition"]} == {
        1: "possible-lead",
        2: "excluded",
    }


def test_training_cannot_be_recorded_further_ahead_than_the_policy_allows(wf, people):
    boss = people["boss"]
    soon, later = (date.today() + timedelta(days=d) for d in (20, 60))
    change(wf, "policy.training_valid_days", 30)
    with pytest.raises(UsageError, match="at most 30 days"):
        wf.create_user(boss, "newbie", "Newbie", PASSWORD, ["examiner"], later.isoformat())
    with pytest.raises(UsageError, match="at most 30 days"):
        wf.update_user(boss, people["exa"].id, training_valid_until=later.isoformat())
    made = wf.create_user(boss, "newbie", "Newbie", PASSWORD, ["examiner"], soon.isoformat())
    assert made.training_valid_until == soon.isoformat()
