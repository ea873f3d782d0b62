"""Versioned schema migrations: ``NNNN_what.sql`` files applied in order, one transaction each.

The schema version is SQLite's ``PRAGMA user_version``, set inside the same transaction as the
migration, so a power cut during a migration leaves the previous version intact. Never edit a
released migration: add the next number.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@cache
def migrations() -> tuple[tuple[int, str, str], ...]:
    """``(version, file name, sql)`` in order; numbering must be 1, 2, 3 ... without gaps."""
    found = []
    for entry in resources.files(__package__).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort()
    for expected, (version, name, _) in enumerate(found, start=1):
        if version != expected:
            raise RuntimeError(f"migration {name}: expected number {expected:04d}")
    return tuple(found)


def latest_version() -> int:
    return len(migrations())


def apply_migrations(conn) -> list[int]:
    """Apply every migration newer than the database; returns the versions applied."""
    applied = []
    for version, _name, sql in migrations():
        current = conn.execute("PRAGMA user_version").fetchone()[0]
        if current >= version:
            continue
        # Foreign keys off while a migration runs (SQLite's documented way to rebuild a table:
        # with them on, dropping the old copy would cascade-delete its children's rows), then
        # checked before the commit, so a migration cannot leave a dangling reference.
        fk = conn.execute("PRAGMA foreign_keys").fetchone()[0]
        conn.execute("PRAGMA foreign_keys = OFF")
        try:
            # executescript runs the whole text; BEGIN/COMMIT around it make the step atomic.
            conn.executescript(f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};")
            broken = conn.execute("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration {_name}: {len(broken)} broken foreign key(s), e.g. {broken[0]}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        finally:
            conn.execute(f"PRAGMA foreign_keys = {'ON' if fk else 'OFF'}")
        applied.append(version)
    return applied
