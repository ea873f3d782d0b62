"""The central store's day tallies (table ``audit_days``, migration 0004): per unit and UTC day,
the accountability report's tally of the entries central holds (device/reports/tally.py).

Written by the receivers inside the transaction that stores the entries (``add``), so a tally
never counts an entry that is not stored nor misses one that is; redelivered entries are not
stored twice and so not counted twice. A fleet report merges a period's rows (``merged``). The
tallies are a cache of counts, never evidence: ``recount`` makes them again from the entries
(migration 0004 fills them so; ``fieldface central verify`` recounts and compares).
"""

from __future__ import annotations

import json
from datetime import date

from device.audit.entry import Entry
from device.reports import tally as T


def as_text(t: dict) -> str:
    return json.dumps(t, sort_keys=True, separators=(",", ":"))


def add(execute, unit: str, entries: list[Entry], at: str) -> None:
    """Count ``entries`` of ``unit`` into its day rows; ``execute(sql, params) -> rows`` runs in
    the caller's transaction (a receiver's, under its per-unit lock)."""
    for day, counted in T.by_day(entries).items():
        rows = execute("SELECT tally FROM audit_days WHERE unit = ? AND day = ?", (unit, day))
        if rows:
            merged = T.merge(json.loads(rows[0][0]), counted)
            execute("UPDATE audit_days SET entries = ?, tally = ?, updated_at = ? WHERE unit = ? AND day = ?",
                    (merged["n"], as_text(merged), at, unit, day))  # fmt: skip
        else:
            execute("INSERT INTO audit_days(unit, day, entries, tally, updated_at) VALUES (?, ?, ?, ?, ?)",
                    (unit, day, counted["n"], as_text(counted), at))  # fmt: skip


def merged(store, start: date, end: date, unit: str | None = None) -> dict:
    """The tally of every unit's (or ``unit``'s) entries whose day is in ``start``..``end``."""
    sql, params = "SELECT tally FROM audit_days WHERE day >= ? AND day <= ?", [start.isoformat(), end.isoformat()]
    if unit is not None:
        sql, params = sql + " AND unit = ?", [*params, unit]
    total = T.empty()
    for (text,) in store.query(sql, tuple(params)):
        T.merge(total, json.loads(text))
    return total


def fill(cur, sql) -> int:
    """Migration 0004: the day rows of every entry already stored, unit by unit (``cur``: the
    migration's cursor, ``sql``: the backend's placeholder rewriting). Returns the rows written."""
    cur.execute("SELECT unit FROM units ORDER BY unit")
    written = 0
    for (unit,) in cur.fetchall():
        cur.execute(sql("SELECT hash, body FROM audit_entries WHERE unit = ? ORDER BY epoch, seq"), (unit,))
        entries = [Entry.from_body(json.loads(body), hash_hex) for hash_hex, body in cur.fetchall()]
        for day, t in T.by_day(entries).items():
            cur.execute(sql("INSERT INTO audit_days(unit, day, entries, tally, updated_at) VALUES (?, ?, ?, ?, ?)"),
                        (unit, day, t["n"], as_text(t), "migration 0004"))  # fmt: skip
            written += 1
    return written


def differences(store, unit: str, fresh: dict[str, dict]) -> list[str]:
    """Where the stored day rows of ``unit`` differ from ``fresh`` (day -> tally recounted from
    its entries by ``central verify``)."""
    stored = {day: json.loads(text) for day, text in
              store.query("SELECT day, tally FROM audit_days WHERE unit = ?", (unit,))}  # fmt: skip
    out = []
    for day in sorted(set(fresh) | set(stored)):
        mine, theirs = _flat(stored.get(day) or T.empty()), _flat(fresh.get(day) or T.empty())
        wrong = [f"{k} {mine.get(k)} stored, {theirs.get(k)} recounted"
                 for k in sorted(set(mine) | set(theirs)) if mine.get(k) != theirs.get(k)]  # fmt: skip
        if wrong:
            more = f" (and {len(wrong) - 3} more)" if len(wrong) > 3 else ""
            out.append(f"the day tally of {day} does not match its entries: {'; '.join(wrong[:3])}{more}")
    return out


def _flat(t: dict) -> dict[str, object]:
    out = {"entries": t["n"], "seq": t["seq"], "units": t["units"], "users": t["users"], "policy": t["policy"]}
    out.update({f"{g}.{k}": n for g, counts in t["k"].items() for k, n in counts.items() if n})
    out.update({f"superseded.{d}.{k}": n for d, counts in t["sup"].items() for k, n in counts.items()})
    return out
