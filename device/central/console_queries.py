"""The console's reads of the units' entries: by field, through the columns migration 0004 has
the database generate from each signed body (``at``, ``action``, ``actor``, ``case_ref``,
``outcome``) and their indexes (``at``, ``unit+at``, ``action+at``, ``actor+at``, ``case_ref+at``).
Details (offence, purpose) are read from the body where they are (SQLite json_extract,
PostgreSQL jsonb) after an indexed condition has narrowed the rows.
"""

from __future__ import annotations

import json

from device.audit.entry import Entry
from device.errors import UsageError

FILTERS = ("unit", "user", "case", "action", "outcome", "offense", "purpose")


def _detail(dialect: str, name: str) -> str:
    if dialect == "sqlite":
        return f"json_extract(body, '$.details.{name}')"
    return f"((body::jsonb) -> 'details' ->> '{name}')"


def where(dialect: str, filters: dict, start: str | None, end: str | None) -> tuple[str, list]:
    """SQL conditions and parameters for the explorer's and the report's filters (already validated)."""
    clauses, params = [], []
    if start:
        clauses.append("at >= ?")
        params.append(start)
    if end:
        clauses.append("at < ?")
        params.append(end)
    columns = {"unit": "unit", "user": "actor", "case": "case_ref", "action": "action", "outcome": "outcome",
               "offense": _detail(dialect, "offense"), "purpose": _detail(dialect, "purpose")}  # fmt: skip
    for name, value in filters.items():
        if value in (None, ""):
            continue
        if name not in columns:
            raise UsageError(f"unknown filter {name!r} (filters: {', '.join(FILTERS)})")
        clauses.append(f"{columns[name]} = ?")
        params.append(value)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params


def search(store, filters: dict, start: str | None, end: str | None, limit: int = 200, offset: int = 0):
    """``[(unit, epoch, seq, Entry)]``, newest first."""
    dialect = store.backend.dialect
    cond, params = where(dialect, filters, start, end)
    rows = store.query(
        f"SELECT unit, epoch, seq, hash, body FROM audit_entries{cond}"  # noqa: S608 - names from this module
        " ORDER BY at DESC, unit, epoch DESC, seq DESC LIMIT ? OFFSET ?",
        (*params, limit, offset),
    )
    return [(u, int(e), int(s), Entry.from_body(json.loads(b), h)) for u, e, s, h, b in rows]


def period(store, filters: dict, start: str, end: str):
    """Every entry of the fleet (or the filtered part) in ``start <= at < end`` (ISO days), one
    query per day: each a range scan of the ``at`` index (or ``unit+at``, ``actor+at``), so no
    result is ever the whole table in memory. The fleet and unit reports read day tallies instead
    (device/central/days.py); this feeds the user, offence and purpose ones."""
    from datetime import date, timedelta

    day, last = date.fromisoformat(start[:10]), date.fromisoformat(end[:10])
    while day < last:
        following = day + timedelta(days=1)
        cond, params = where(store.backend.dialect, filters, day.isoformat(), following.isoformat())
        rows = store.query(f"SELECT unit, hash, body FROM audit_entries{cond}", tuple(params))  # noqa: S608
        for u, h, b in rows:
            yield u, Entry.from_body(json.loads(b), h)
        day = following


def rates(store, start: str, end: str) -> list[tuple[str, int, int]]:
    """Per unit in ``start <= at < end``: searches run, and quality overrides (exam overrides and
    searches of a failing probe)."""
    overridden = f"{_detail(store.backend.dialect, 'quality_override')} IS NOT NULL"
    rows = store.query(
        f"SELECT unit, action, {overridden}, count(*) FROM audit_entries"  # noqa: S608 - names from this module
        " WHERE action IN ('search', 'exam.quality_override') AND at >= ? AND at < ?"
        f" GROUP BY unit, action, {overridden}",
        (start, end),
    )
    out: dict[str, list[int]] = {}
    for unit, act, overridden, n in rows:
        counts = out.setdefault(unit, [0, 0])
        if act == "search":
            counts[0] += int(n)
        if act == "exam.quality_override" or (act == "search" and overridden):
            counts[1] += int(n)
    return [(u, s, o) for u, (s, o) in sorted(out.items())]


def entry(store, unit: str, epoch: int, seq: int) -> Entry | None:
    rows = store.query(
        "SELECT hash, body FROM audit_entries WHERE unit = ? AND epoch = ? AND seq = ?", (unit, epoch, seq)
    )
    return Entry.from_body(json.loads(rows[0][1]), rows[0][0]) if rows else None
