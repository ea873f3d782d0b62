"""Console accounts: auditor (reads the fleet, reports, the explorer), supervisor (also acknowledges
alerts), admin (the fleet page and the console's own log; no reading of units' entries).

Passwords follow the unit's rules (device/workflow/users.py: Argon2id with the unit's cost, NIST
length and zxcvbn checks); login, lockout and sessions are the unit's code (device/workflow/
sessions.py) over the console's tables. Accounts are made at the central host's shell
(``fieldface central user add``), where whoever acts already holds the central secret.
"""

from __future__ import annotations

from datetime import UTC, datetime

from device.audit.entry import Draft
from device.errors import UsageError
from device.workflow.users import USERNAME, User, check_password, find_user, hasher, list_users, utc

CONSOLE_ROLES = ("auditor", "supervisor", "admin")


def create(db, log, config, username: str, password: str, roles, *, by: str, display_name: str = "") -> User:
    username = (username or "").strip().lower()
    if not USERNAME.match(username):
        raise UsageError("a username is 2-32 lower-case letters, digits, '.', '_' or '-'")
    roles = sorted(set(roles))
    bad = [r for r in roles if r not in CONSOLE_ROLES]
    if not roles or bad:
        raise UsageError(
            f"console roles are {', '.join(CONSOLE_ROLES)} (at least one), got {', '.join(roles) or 'none'}"
        )
    display_name = (display_name or "").strip()[:120] or username
    check_password(password, config, username, display_name)
    password_hash = hasher(config).hash(password)
    with db.connection() as conn, db.transaction(conn):
        if find_user(conn, username):
            raise UsageError(f"there is already a console user {username!r}")
        user_id = conn.execute(
            "INSERT INTO users(username, display_name, password_hash, training_valid_until, active, created_at,"
            " created_by) VALUES (?, ?, ?, NULL, 1, ?, ?) RETURNING id",
            (username, display_name, password_hash, utc(datetime.now(UTC)), by),
        ).fetchone()[0]
        conn.executemany("INSERT INTO user_roles(user_id, role) VALUES (?, ?)", [(user_id, r) for r in roles])
        log.append_in(conn, [Draft("console.user_create", by, "admin", f"user:{username}", details={"roles": roles})])
        return find_user(conn, username)


def all_users(db) -> list[User]:
    with db.connection() as conn:
        return list_users(conn)
