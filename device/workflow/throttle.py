"""Login throttling: slow guessing down per account and per source, never lock anyone out for long.

Every login attempt first *reserves* its try in one write transaction (``BEGIN IMMEDIATE``): the
counters are read, the attempt is refused if it comes too early, else counted as a failure right
away, all before the password is checked. Parallel guesses therefore queue on that transaction and
each sees the others' counts: no wave of requests gets more checks than allowed (the lockout of
issue 12 read the counter outside the transaction and let 16-18 guesses through). A correct
password then takes its own try back.

Two counters are kept, each with the same schedule:

* ``account:<name>@<source>``: ``max_failed_logins`` free tries, then each try waits 1 s, 2 s,
  4 s ... up to ``login_delay_max_s``;
* ``source:<source>``: 4x as many free tries over all accounts (password spraying).

There is no per-account counter across sources on purpose: it would let a stranger elsewhere on the
network keep the supervisor from logging in at the unit's own screen. A stranger *at* the screen
(same source) can slow the accounts tried there by ``login_delay_max_s`` per try at most; a
supervisor clears an account's counters (``clear``), and a new password does too. The counters key
on the name as typed, so an unknown name is throttled and answered exactly like a real one.
Counters are forgotten ``login_forget_minutes`` after their last failure.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from device.workflow.users import parse_utc, utc

SOURCE_FACTOR = 4  # free tries from one source over all accounts, in units of max_failed_logins


def keys(username: str, source: str) -> dict[str, int]:
    """The counters an attempt touches, each with its free tries (in units of max_failed_logins)."""
    return {f"account:{username[:64]}@{source}": 1, f"source:{source}": SOURCE_FACTOR}


def _delay(failures: int, free: int, cap: int) -> float:
    if failures < free:
        return 0.0
    return float(min(cap, 2 ** min(failures - free, 20)))


def reserve(conn, config, username: str, source: str, now: datetime) -> tuple[float, bool]:
    """Inside the caller's write transaction: ``(wait_s, started)``. ``wait_s > 0`` means refused,
    not counted; otherwise the attempt is counted as a failure, and ``started`` says it is the one
    that started the slow-down for this account (worth an audit entry)."""
    wf = config.workflow
    forget = utc(now - timedelta(minutes=wf.login_forget_minutes))
    conn.execute("DELETE FROM login_throttle WHERE last_failure < ?", (forget,))
    rows = {}
    for key in keys(username, source):
        rows[key] = conn.execute("SELECT failures, wait_until FROM login_throttle WHERE key = ?", (key,)).fetchone()
    waits = [(parse_utc(r[1]) - now).total_seconds() for r in rows.values() if r and r[1]]
    wait = max([w for w in waits if w > 0], default=0.0)
    if wait > 0:
        return wait, False
    started = False
    for key, factor in keys(username, source).items():
        failures = (rows[key][0] if rows[key] else 0) + 1
        free = wf.max_failed_logins * factor
        delay = _delay(failures, free, wf.login_delay_max_s)
        until = utc(now + timedelta(seconds=delay)) if delay else None
        started = started or (factor == 1 and failures == free)
        conn.execute(
            "INSERT INTO login_throttle(key, failures, last_failure, wait_until) VALUES (?, ?, ?, ?)"
            " ON CONFLICT(key) DO UPDATE SET failures = excluded.failures, last_failure = excluded.last_failure,"
            " wait_until = excluded.wait_until",
            (key, failures, utc(now), until),
        )
    return 0.0, started


def succeeded(conn, config, username: str, source: str) -> None:
    """A correct password: the account's counter goes, the source's gets its try back."""
    account, source_key = keys(username, source)
    conn.execute("DELETE FROM login_throttle WHERE key = ?", (account,))
    conn.execute(
        # Portable SQL (no two-argument max()): the central console runs this over PostgreSQL too.
        "UPDATE login_throttle SET failures = CASE WHEN failures > 1 THEN failures - 1 ELSE 0 END,"
        " wait_until = CASE WHEN failures - 1 < ? THEN NULL ELSE wait_until END WHERE key = ?",
        (config.workflow.max_failed_logins * SOURCE_FACTOR, source_key),
    )


def clear(conn, username: str) -> int:
    """Forget an account's counters from every source (a supervisor's "clear", a new password)."""
    return conn.execute("DELETE FROM login_throttle WHERE key LIKE ? ESCAPE '\\'",
                        (f"account:{_like(username[:64])}@%",)).rowcount  # fmt: skip


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
