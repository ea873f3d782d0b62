"""Login throttling (atomic, per account and source, same answers for unknown names) and password rules."""

from __future__ import annotations

import threading

import pytest

from device.errors import AuthError, UsageError
from tests.workflow.conftest import NEXT_YEAR, PASSWORD


def login_audit(wf) -> list[tuple[str, str]]:
    with wf.store.connection() as conn:
        rows = conn.execute("SELECT action, body FROM audit_log WHERE action LIKE 'login%' ORDER BY seq").fetchall()
    import json

    return [(action, json.loads(body).get("details", {}).get("reason", "")) for action, body in rows]


def answers(wf, username: str, tries: int, source: str = "local") -> list[str]:
    out = []
    for _ in range(tries):
        try:
            wf.login(username, "not the password", source)
            out.append("logged in")
        except AuthError as exc:
            out.append(str(exc))
    return out


def test_parallel_wrong_logins_never_get_more_checks_than_allowed(wf, people):
    """Issue 12: waves of parallel guesses got 16-18 password checks before the lockout."""
    barrier = threading.Barrier(16)

    def guess():
        barrier.wait()
        try:
            wf.login("exa", "not the password", "10.0.0.9")
        except AuthError:
            pass

    threads = [threading.Thread(target=guess) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    audit = login_audit(wf)
    assert audit.count(("login.failed", "wrong password")) == wf.config.workflow.max_failed_logins
    assert audit.count(("login.failed", "throttled")) == 16 - wf.config.workflow.max_failed_logins
    with pytest.raises(AuthError, match="too many failed logins: wait 1 s"):
        wf.login("exa", PASSWORD, "10.0.0.9")  # even the right password waits its turn


def test_the_slow_down_doubles_up_to_the_cap_and_the_right_password_then_works(wf, people, clock):
    assert answers(wf, "exa", 5) == ["wrong username or password"] * 5
    waits = []
    for _ in range(9):
        (answer,) = answers(wf, "exa", 1)
        waits.append(int(answer.split("wait ")[1].split(" s")[0]))
        clock.advance(seconds=waits[-1])
        answers(wf, "exa", 1)  # counted: the wait has passed
    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]  # login_delay_max_s = 60
    clock.advance(seconds=60)
    _token, session = wf.login("exa", PASSWORD)
    assert session.user.username == "exa"
    assert answers(wf, "exa", 1) == ["wrong username or password"]  # counters reset by the success


def test_unknown_names_get_exactly_the_answers_real_ones_get(wf, people):
    assert answers(wf, "exa", 8) == answers(wf, "no-such-user", 8)


def test_a_stranger_elsewhere_cannot_lock_the_supervisor_out(wf, people):
    answers(wf, "boss", 40, source="192.0.2.66")
    _token, session = wf.login("boss", PASSWORD, "127.0.0.1")  # at the unit's own screen
    assert session.user.username == "boss"


def test_spraying_many_accounts_from_one_source_is_slowed(wf, people):
    names = ["exa", "exb", "peer", "aud", "ghost1", "ghost2"]
    results = [a for _ in range(4) for name in names for a in answers(wf, name, 1, "198.51.100.7")]
    assert results[:20] == ["wrong username or password"] * 20  # 4 x max_failed_logins over all accounts
    assert results[20].startswith("too many failed logins")


def test_a_supervisor_clears_an_accounts_slow_down(wf, people):
    answers(wf, "exa", 6)
    wf.clear_lockout(people["boss"], people["exa"].id)
    assert wf.login("exa", PASSWORD)[1].user.username == "exa"


@pytest.mark.parametrize(
    "password, why",
    [
        (" " * 10, "too easy to guess"),
        ("password12", "too easy to guess"),
        ("1234567890", "too easy to guess"),
        ("qwertyuiop", "too easy to guess"),
        ("annsmith-was-here", "the user's name"),
        ("short", "at least 10 characters"),
        ("x" * 300, "at most 256"),
    ],
)
def test_passwords_are_checked_the_way_nist_asks(wf, people, password, why):
    with pytest.raises(UsageError, match=why):
        wf.create_user(people["boss"], "annsmith", "Ann Smith", password, ["examiner"], NEXT_YEAR)
    with pytest.raises(UsageError, match=why):
        wf.set_password(people["boss"], people["exa"].id, password.replace("annsmith", "exa"))


def test_a_good_passphrase_is_accepted(wf, people):
    user = wf.create_user(
        people["boss"], "annsmith", "Ann Smith", "mauve kettle over the quay", ["examiner"], NEXT_YEAR
    )
    assert user.username == "annsmith"
