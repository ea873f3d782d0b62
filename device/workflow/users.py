"""Accounts, roles and training: who may do what in the workflow.

Roles: ``examiner`` (searches and examines), ``reviewer`` (tier-2 peer review), ``supervisor``
(users, quality overrides, gallery, audit), ``auditor`` (reads the audit log). A user may hold
several. Every account carries a training-valid-until date; expired (or absent) training blocks
searching, examining and reviewing (``require_trained``). Passwords are hashed with Argon2id.

Every change to an account commits with its audit entry in one transaction; nothing about a
password (not even its hash) goes into the audit log.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from argon2 import PasswordHasher, Type

from device.audit import Draft
from device.clock import parse_utc, system_now, utc  # noqa: F401 - the workflow's names for the one clock
from device.errors import NotAllowedError, UsageError

ROLES = ("examiner", "reviewer", "supervisor", "auditor")
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,31}$")
SYSTEM = "setup"


@dataclass(frozen=True)
class User:
    id: int
    username: str
    display_name: str
    roles: frozenset[str]
    training_valid_until: str | None
    active: bool

    def has(self, *roles: str) -> bool:
        return bool(self.roles.intersection(roles))

    def trained_on(self, day: date) -> bool:
        return self.training_valid_until is not None and self.training_valid_until >= day.isoformat()

    def acting_as(self, *preferred: str) -> str:
        """The role named in the audit entry: the first of ``preferred`` the user holds."""
        for role in preferred:
            if role in self.roles:
                return role
        return sorted(self.roles)[0] if self.roles else "none"

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "roles": sorted(self.roles),
            "training_valid_until": self.training_valid_until,
            "active": self.active,
        }


def console_user(login: str) -> User:
    """Who acts from the unit's console (``fieldface user ...``). Whoever unlocks the store there
    already holds every key of the unit, so they act with supervisor powers; the audit names them
    ``cli:<login>``. Id 0 is never a stored account's (ids start at 1), so the self-protection
    rules (own role, own account) never mistake them for one."""
    return User(0, f"cli:{login}", "console", frozenset({"supervisor"}), None, True)


def require_user(conn, username: str) -> User:
    user = find_user(conn, (username or "").strip().lower())
    if user is None:
        raise UsageError(f"there is no user {username!r} on this unit")
    return user


def hasher(config) -> PasswordHasher:
    wf = config.workflow
    return PasswordHasher(time_cost=wf.argon2_iterations, memory_cost=wf.argon2_memory_kib, parallelism=1, type=Type.ID)


def require_role(user: User, *roles: str) -> None:
    if not user.has(*roles):
        raise NotAllowedError(f"this needs the {' or '.join(roles)} role; {user.username} does not hold it")


def require_trained(user: User, today: date) -> None:
    if not user.trained_on(today):
        until = user.training_valid_until
        why = f"expired on {until}" if until else "is not recorded"
        raise NotAllowedError(f"{user.username}'s training {why}: searching and reviewing need current training")


def _check_roles(roles) -> list[str]:
    roles = sorted(set(roles))
    if not roles:
        raise UsageError("a user needs at least one role")
    bad = [r for r in roles if r not in ROLES]
    if bad:
        raise UsageError(f"unknown role(s) {', '.join(bad)} (roles: {', '.join(ROLES)})")
    return roles


def _check_date(value: str | None) -> str | None:
    if value is None or not str(value).strip():
        return None
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise UsageError(f"training valid until: {value!r} is not a date (YYYY-MM-DD)") from None


MAX_PASSWORD = 256  # NIST SP 800-63B: accept at least 64 characters; the hash bounds the cost


def check_password(password: str, config, username: str = "", display_name: str = "") -> None:
    """NIST SP 800-63B: a length, no composition rules, and a check against values an attacker
    tries first: zxcvbn's 30,000 most common passwords from breaches, dictionary words, repeats
    ("          "), sequences ("1234567890"), keyboard walks and the user's own names. A password
    zxcvbn estimates below 10^8 guesses (its score 3) is refused with its own advice."""
    password = unicodedata.normalize("NFKC", password or "")  # as NIST asks, so "ﬁ" == "fi"
    minimum = config.workflow.min_password_length
    if len(password) < minimum:
        raise UsageError(f"a password needs at least {minimum} characters")
    if len(password) > MAX_PASSWORD:
        raise UsageError(f"a password has at most {MAX_PASSWORD} characters")
    username = username.strip().lower()
    if len(username) >= 3 and username in password.lower():
        raise UsageError("a password must not contain the user's name")
    names = [n for n in {username, *display_name.lower().split()} if len(n) >= 3]
    from zxcvbn import zxcvbn  # imported on use: its word lists take ~0.2 s to load

    verdict = zxcvbn(password[:100], user_inputs=[*names, display_name.lower().replace(" ", "")])
    if verdict["score"] < 3:
        advice = verdict["feedback"].get("warning") or "it is too easy to guess"
        raise UsageError(f"this password is too easy to guess ({advice.rstrip('.').lower()}): "
                         "use a longer phrase of unrelated words")  # fmt: skip


def _row_to_user(conn, row) -> User:
    roles = frozenset(r[0] for r in conn.execute("SELECT role FROM user_roles WHERE user_id = ?", (row[0],)))
    return User(row[0], row[1], row[2], roles, row[3], bool(row[4]))


USER_SELECT = "SELECT id, username, display_name, training_valid_until, active FROM users"


def get_user(conn, user_id: int) -> User | None:
    row = conn.execute(USER_SELECT + " WHERE id = ?", (user_id,)).fetchone()
    return _row_to_user(conn, row) if row else None


def find_user(conn, username: str) -> User | None:
    row = conn.execute(USER_SELECT + " WHERE username = ?", (username,)).fetchone()
    return _row_to_user(conn, row) if row else None


def list_users(conn) -> list[User]:
    return [_row_to_user(conn, row) for row in conn.execute(USER_SELECT + " ORDER BY username")]


def user_count(conn) -> int:
    return conn.execute("SELECT count(*) FROM users").fetchone()[0]


def check_training_horizon(store, config, training: str | None, today: date, conn=None) -> None:
    """The agency policy (``policy.training_valid_days``) bounds how far ahead training may be
    recorded as valid: training must be renewed at least that often."""
    if training is None:
        return
    from device.policy import Policy

    days = Policy.load(store, config, conn).training_valid_days
    limit = (today + timedelta(days=days)).isoformat()
    if training > limit:
        raise UsageError(
            f"training can be recorded as valid for at most {days} days (until {limit}) under the agency's policy"
        )


def create_user(store, audit, config, by: User | None, username: str, display_name: str, password: str,
                roles, training_valid_until: str | None, now: datetime, first_run: bool = False) -> User:  # fmt: skip
    """A new account. ``by`` must be a supervisor, except at first run (``first_run``), which is
    allowed only while there is no user at all and must create a supervisor."""
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise UsageError("a username is 2-32 lower-case letters, digits, '.', '_' or '-'")
    display_name = (display_name or "").strip() or username
    if len(display_name) > 120:
        raise UsageError("a display name is at most 120 characters")
    roles = _check_roles(roles)
    training = _check_date(training_valid_until)
    check_password(password, config, username, display_name)
    if first_run:
        if "supervisor" not in roles:
            raise UsageError("the first user must be a supervisor")
    else:
        if by is None:
            raise NotAllowedError("only a supervisor creates users")
        require_role(by, "supervisor")
    password_hash = hasher(config).hash(password)
    with store.connection() as conn, store.transaction(conn):
        check_training_horizon(store, config, training, now.date(), conn)
        if first_run and user_count(conn):
            raise NotAllowedError("first-run setup is over: a supervisor already exists")
        if find_user(conn, username):
            raise UsageError(f"there is already a user {username!r}")
        user_id = conn.execute(
            "INSERT INTO users(username, display_name, password_hash, training_valid_until, created_at, created_by)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (username, display_name, password_hash, training, utc(now), by.username if by else SYSTEM),
        ).lastrowid
        conn.executemany("INSERT INTO user_roles(user_id, role) VALUES (?, ?)", [(user_id, r) for r in roles])
        actor, role = (by.username, "supervisor") if by else (SYSTEM, "system")
        details = {"roles": roles, "training_valid_until": training, "first_run": first_run}
        audit.append_in(conn, [Draft("user.create", actor, role, f"user:{username}", details=details)])
        return get_user(conn, user_id)


def update_user(store, audit, by: User, user_id: int, *, roles=None, training_valid_until=None,
                active: bool | None = None, display_name: str | None = None, config=None,
                today=None) -> User:  # fmt: skip
    """Change roles, training date, active flag or name (supervisor only). With ``config``, a new
    training date is checked against the policy's training validity from ``today`` (the caller's
    clock's UTC date; the system's when not given)."""
    require_role(by, "supervisor")
    changes: dict = {}
    with store.connection() as conn, store.transaction(conn):
        target = get_user(conn, user_id)
        if target is None:
            raise UsageError(f"no user {user_id}")
        if roles is not None:
            roles = _check_roles(roles)
            if target.id == by.id and "supervisor" not in roles:
                raise NotAllowedError("a supervisor cannot remove their own supervisor role")
            conn.execute("DELETE FROM user_roles WHERE user_id = ?", (user_id,))
            conn.executemany("INSERT INTO user_roles(user_id, role) VALUES (?, ?)", [(user_id, r) for r in roles])
            changes["roles"] = roles
        if training_valid_until is not None:
            training = _check_date(training_valid_until)
            if config is not None:
                check_training_horizon(store, config, training, today or system_now().date(), conn)
            conn.execute("UPDATE users SET training_valid_until = ? WHERE id = ?", (training, user_id))
            changes["training_valid_until"] = training
        if active is not None:
            if target.id == by.id and not active:
                raise NotAllowedError("a supervisor cannot disable their own account")
            conn.execute("UPDATE users SET active = ? WHERE id = ?", (int(active), user_id))
            if not active:
                conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
            changes["active"] = active
        if display_name is not None and display_name.strip():
            conn.execute("UPDATE users SET display_name = ? WHERE id = ?", (display_name.strip()[:120], user_id))
            changes["display_name"] = True
        if not changes:
            raise UsageError("nothing to change")
        audit.append_in(conn, [Draft("user.update", by.username, "supervisor", f"user:{target.username}",
                                     details=changes)])  # fmt: skip
        return get_user(conn, user_id)


def set_password(store, audit, config, by: User, user_id: int, password: str) -> None:
    """A supervisor sets any user's password, a user their own; ends the user's other sessions."""
    if by.id != user_id:
        require_role(by, "supervisor")
    with store.connection() as conn:
        target = get_user(conn, user_id)
    if target is None:
        raise UsageError(f"no user {user_id}")
    check_password(password, config, target.username, target.display_name)
    password_hash = hasher(config).hash(password)
    with store.connection() as conn, store.transaction(conn):
        conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id))
        from device.workflow import throttle  # (throttle imports this module)

        throttle.clear(conn, target.username)
        conn.execute("DELETE FROM sessions WHERE user_id = ?", (user_id,))
        role = "supervisor" if by.id != user_id else by.acting_as("examiner", "reviewer", "supervisor", "auditor")
        audit.append_in(conn, [Draft("user.password", by.username, role, f"user:{target.username}")])


def clear_lockout(store, audit, by: User, user_id: int) -> None:
    require_role(by, "supervisor")
    with store.connection() as conn, store.transaction(conn):
        target = get_user(conn, user_id)
        if target is None:
            raise UsageError(f"no user {user_id}")
        from device.workflow import throttle  # (throttle imports this module)

        throttle.clear(conn, target.username)
        audit.append_in(conn, [Draft("user.unlock", by.username, "supervisor", f"user:{target.username}")])
