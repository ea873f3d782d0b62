"""Logins, lockout, idle timeout, one-time form tokens, first-run setup and user admin rules."""

from __future__ import annotations

import pytest

from device.errors import AuthError, NotAllowedError, UsageError
from tests.workflow.conftest import NEXT_YEAR, PASSWORD


def test_unknown_user_and_disabled_account(wf, people):
    with pytest.raises(AuthError, match="wrong username or password"):
        wf.login("nobody", PASSWORD)
    wf.update_user(people["boss"], people["exb"].id, active=False)
    with pytest.raises(AuthError, match="disabled"):
        wf.login("exb", PASSWORD)


def test_idle_session_times_out(wf, people, clock):
    token, _ = wf.login("exa", PASSWORD)
    clock.advance(minutes=10)
    assert wf.resume(token) is not None
    clock.advance(minutes=10)  # 10 minutes since the last request: still within 15
    assert wf.resume(token) is not None
    clock.advance(minutes=16)
    assert wf.resume(token) is None
    assert wf.resume("made-up-token") is None


def test_form_tokens_are_one_time_and_bound_to_their_session(wf, people):
    _, session = wf.login("exa", PASSWORD)
    _, other = wf.login("peer", PASSWORD)
    token = wf.issue_form_token(session)
    wf.consume_form_token(session, token)
    with pytest.raises(NotAllowedError, match="already submitted"):
        wf.consume_form_token(session, token)
    with pytest.raises(NotAllowedError, match="not from this session"):
        wf.consume_form_token(other, wf.issue_form_token(session))
    with pytest.raises(NotAllowedError, match="not from this session"):
        wf.consume_form_token(session, None)


def test_first_run_creates_one_supervisor_only(wf):
    assert wf.needs_setup()
    with pytest.raises(UsageError, match="at least 10"):
        wf.first_run("boss", "Boss", "short", NEXT_YEAR)
    boss = wf.first_run("boss", "Boss", PASSWORD, NEXT_YEAR)
    assert boss.roles == {"supervisor"} and not wf.needs_setup()
    with pytest.raises(NotAllowedError, match="setup is over"):
        wf.first_run("boss2", "Boss", PASSWORD, NEXT_YEAR)


def test_only_supervisors_administer_users(wf, people):
    with pytest.raises(NotAllowedError, match="supervisor"):
        wf.create_user(people["exa"], "mallory", "M", PASSWORD, ["supervisor"], NEXT_YEAR)
    with pytest.raises(UsageError, match="unknown role"):
        wf.create_user(people["boss"], "newbie", "N", PASSWORD, ["admin"], NEXT_YEAR)
    with pytest.raises(NotAllowedError, match="own supervisor role"):
        wf.update_user(people["boss"], people["boss"].id, roles=["examiner"])
    with wf.store.connection() as conn:
        bodies = [r[0] for r in conn.execute("SELECT body FROM audit_log WHERE action LIKE 'user.%'")]
    assert bodies and not any("argon2" in b or PASSWORD in b for b in bodies)  # no password material audited
