"""Logins, lockout, sessions with an idle timeout, and one-time form tokens (CSRF and replay).

* A login checks the Argon2id hash; ``workflow.max_failed_logins`` consecutive failures lock the
  account for ``workflow.lockout_minutes`` (a correct password during the lockout is refused too).
  An unknown name costs the same hash check, so timing does not tell which names exist.
* A session is a random token in a cookie; the store keeps only its SHA-256. It ends after
  ``idle_timeout_minutes`` without a request, after ``session_max_hours`` in any case, at logout,
  and when the account is disabled or its password changed.
* Every state-changing request carries a one-time token: ``nonce.HMAC(session form secret, nonce)``.
  A token from another session, a forged one, or one already used (a replayed post) is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2.exceptions import InvalidHashError, VerificationError

from device.audit import Draft
from device.errors import AuthError, NotAllowedError
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


def login(store, audit, config, username: str, password: str, now: datetime) -> tuple[str, Session]:
    """``(cookie token, session)``, or AuthError with a message fit to show."""
    username = (username or "").strip().lower()
    wf = config.workflow
    ph = hasher(config)
    with store.connection() as conn:
        row = conn.execute(
            "SELECT id, password_hash, active, failed_logins, locked_until FROM users WHERE username = ?",
            (username,),
        ).fetchone()
    named = username if USERNAME.match(username) else "(invalid name)"
    if row is None:
        try:  # the same work as for a real account
            ph.verify(_dummy_hash(config), password or "")
        except (VerificationError, InvalidHashError):
            pass
        audit.record("login.failed", actor="anonymous", role="none", outcome="denied",
                     details={"username": named, "reason": "unknown user"})  # fmt: skip
        raise AuthError("wrong username or password")
    user_id, password_hash, active, failed, locked_until = row
    if locked_until and parse_utc(locked_until) > now:
        audit.record("login.failed", actor=username, role="none", outcome="denied", details={"reason": "locked out"})
        raise AuthError(f"this account is locked after {wf.max_failed_logins} failed logins; "
                        f"try again after {locked_until[11:16]} UTC or ask a supervisor")  # fmt: skip
    try:
        ph.verify(password_hash, password or "")
        ok = True
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        failed += 1
        locks = failed >= wf.max_failed_logins
        until = utc(now + timedelta(minutes=wf.lockout_minutes)) if locks else None
        with store.connection() as conn, store.transaction(conn):
            conn.execute("UPDATE users SET failed_logins = ?, locked_until = ? WHERE id = ?",
                         (0 if locks else failed, until, user_id))  # fmt: skip
            drafts = [Draft("login.failed", username, "none", outcome="denied",
                            details={"reason": "wrong password", "consecutive": failed})]  # fmt: skip
            if locks:
                drafts.append(Draft("login.lockout", username, "none", outcome="denied", details={"until": until}))
            audit.append_in(conn, drafts)
        if locks:
            raise AuthError(f"too many failed logins: this account is locked for {wf.lockout_minutes} minutes")
        raise AuthError("wrong username or password")
    if not active:
        audit.record("login.failed", actor=username, role="none", outcome="denied", details={"reason": "disabled"})
        raise AuthError("this account is disabled; ask a supervisor")
    token = secrets.token_urlsafe(32)
    with store.connection() as conn, store.transaction(conn):
        if ph.check_needs_rehash(password_hash):
            conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (ph.hash(password), user_id))
        conn.execute("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?", (user_id,))
        session_id = conn.execute(
            "INSERT INTO sessions(token_hash, user_id, form_secret, created_at, last_seen) VALUES (?, ?, ?, ?, ?)",
            (_token_hash(token), user_id, secrets.token_hex(32), utc(now), utc(now)),
        ).lastrowid
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
            "INSERT OR IGNORE INTO used_form_tokens(nonce, session_id, used_at) VALUES (?, ?, ?)",
            (nonce, session.id, utc(now)),
        ).rowcount
    if not used:
        raise NotAllowedError("this form was already submitted (a replayed post): nothing was changed")
