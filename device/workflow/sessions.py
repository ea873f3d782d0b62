"""Logins, lockout, sessions with an idle timeout, and one-time form tokens (CSRF and replay).

* A login checks the Argon2id hash after throttle.py has counted the try (in the transaction that
  checks the count): repeated failures slow guessing down per account and source, and an unknown
  name is answered, timed and throttled exactly like a real one.
* A session is a random token in a cookie; the store keeps only its SHA-256. It ends after
  ``idle_timeout_minutes`` without a request, after ``session_max_hours`` in any case, at logout,
  and when the account is disabled or its password changed.
* Every state-changing request carries a one-time token: ``nonce.HMAC(session form secret, nonce)``.
  A token from another session, a forged one, or one already used (a replayed post) is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError

from device.audit import Draft
from device.errors import AuthError, NotAllowedError
from device.workflow import throttle
from device.workflow.users import USERNAME, User, get_user, hasher, parse_utc, utc

# Refresh last_seen at most this often: a page view need not be a disk write.
TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class Session:
    id: int
    user: User
    form_secret: str
    created_at: str


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_DUMMY_HASH: dict[tuple, str] = {}


def _dummy_hash(config) -> str:
    key = (config.workflow.argon2_memory_kib, config.workflow.argon2_iterations)
    if key not in _DUMMY_HASH:
        _DUMMY_HASH[key] = hasher(config).hash(secrets.token_hex(16))
    return _DUMMY_HASH[key]


def login(store, audit, config, username: str, password: str, now: datetime,
          source: str = "local") -> tuple[str, Session]:  # fmt: skip
    """``(cookie token, session)``, or AuthError with a message fit to show. ``source`` says where
    the attempt comes from (the client address for the web, "console" for the CLI)."""
    username = (username or "").strip().lower()
    source = (source or "unknown")[:64]
    named = username if USERNAME.match(username) else "(invalid name)"
    ph = hasher(config)
    # The try is counted before the password is checked, in the transaction that checks the count.
    with store.connection() as conn, store.transaction(conn):
        wait, started = throttle.reserve(conn, config, username, source, now)
        row = conn.execute("SELECT id, password_hash, active FROM users WHERE username = ?", (username,)).fetchone()
        drafts = []
        if wait:
            drafts.append(Draft("login.failed", "anonymous", "none", outcome="denied",
                                details={"username": named, "reason": "throttled", "source": source}))  # fmt: skip
        elif started:
            drafts.append(Draft("login.lockout", "anonymous", "none", outcome="denied",
                                details={"username": named, "source": source, "slowed_down": True}))  # fmt: skip
        if drafts:
            audit.append_in(conn, drafts)
    if wait:
        raise AuthError(f"too many failed logins: wait {math.ceil(wait)} s before trying again")
    try:  # an unknown name costs the same hash check as a real one
        ph.verify(row[1] if row else _dummy_hash(config), password or "")
        ok = row is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        reason = "wrong password" if row else "unknown user"
        audit.record("login.failed", actor="anonymous", role="none", outcome="denied",
                     details={"username": named, "reason": reason, "source": source})  # fmt: skip
        raise AuthError("wrong username or password")
    user_id, password_hash, active = row
    with store.connection() as conn, store.transaction(conn):
        throttle.succeeded(conn, config, username, source)
    if not active:
        audit.record("login.failed", actor=username, role="none", outcome="denied", details={"reason": "disabled"})
        raise AuthError("this account is disabled; ask a supervisor")
    token = secrets.token_urlsafe(32)
    with store.connection() as conn, store.transaction(conn):
        if ph.check_needs_rehash(password_hash):
            conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (ph.hash(password), user_id))
        # RETURNING, not lastrowid: the central console runs this over PostgreSQL too.
        session_id = conn.execute(
            "INSERT INTO sessions(token_hash, user_id, form_secret, created_at, last_seen) VALUES (?, ?, ?, ?, ?)"
            " RETURNING id",
            (_token_hash(token), user_id, secrets.token_hex(32), utc(now), utc(now)),
        ).fetchone()[0]
        user = get_user(conn, user_id)
        audit.append_in(
            conn,
            [
                Draft(
                    "login",
                    username,
                    user.acting_as("examiner", "reviewer", "supervisor", "auditor"),
                    f"session:{session_id}",
                )
            ],
        )
        session = _load(conn, session_id)
    return token, session


def _load(conn, session_id: int) -> Session:
    row = conn.execute("SELECT id, user_id, form_secret, created_at FROM sessions WHERE id = ?",
                       (session_id,)).fetchone()  # fmt: skip
    return Session(row[0], get_user(conn, row[1]), row[2], row[3])


def resume(store, config, token: str | None, now: datetime) -> Session | None:
    """The live session of a cookie token, its idle clock restarted; None if there is none."""
    if not token:
        return None
    wf = config.workflow
    with store.connection() as conn:
        row = conn.execute(
            "SELECT s.id, s.created_at, s.last_seen, u.active FROM sessions s JOIN users u ON u.id = s.user_id"
            " WHERE s.token_hash = ?",
            (_token_hash(token),),
        ).fetchone()
        if row is None:
            return None
        session_id, created, last_seen, active = row
        idle = now - parse_utc(last_seen) > timedelta(minutes=wf.idle_timeout_minutes)
        old = now - parse_utc(created) > timedelta(hours=wf.session_max_hours)
        if idle or old or not active:
            with store.transaction(conn):
                conn.execute("DELETE FROM sessions WHERE id = ?", (session_id,))
            return None
        if now - parse_utc(last_seen) > TOUCH_EVERY:
            with store.transaction(conn):
                conn.execute("UPDATE sessions SET last_seen = ? WHERE id = ?", (utc(now), session_id))
        return _load(conn, session_id)


def logout(store, audit, session: Session, reason: str = "logout") -> None:
    with store.connection() as conn, store.transaction(conn):
        conn.execute("DELETE FROM sessions WHERE id = ?", (session.id,))
        audit.append_in(conn, [Draft("logout", session.user.username,
                                     session.user.acting_as("examiner", "reviewer", "supervisor", "auditor"),
                                     f"session:{session.id}", details={"reason": reason})])  # fmt: skip


def _sign(session: Session, nonce: str) -> str:
    return hmac.new(bytes.fromhex(session.form_secret), nonce.encode(), hashlib.sha256).hexdigest()[:32]


def issue_form_token(session: Session) -> str:
    nonce = secrets.token_urlsafe(12)
    return f"{nonce}.{_sign(session, nonce)}"


def consume_form_token(store, session: Session, token: str | None, now: datetime) -> None:
    """Accept ``token`` once; NotAllowedError if it is missing, forged, foreign or used before."""
    nonce, _, mac = (token or "").partition(".")
    if not nonce or not hmac.compare_digest(mac, _sign(session, nonce)):
        raise NotAllowedError("this form is not from this session (expired or cross-site): reload the page and retry")
    with store.connection() as conn, store.transaction(conn):
        used = conn.execute(
            "INSERT INTO used_form_tokens(nonce, session_id, used_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (nonce, session.id, utc(now)),
        ).rowcount
    if not used:
        raise NotAllowedError("this form was already submitted (a replayed post): nothing was changed")
