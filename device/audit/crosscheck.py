"""What ``audit verify`` checks beyond the chain: the query columns, and the rows the log vouches for.

* **Summary columns.** ``audit_log`` repeats ``at``, ``actor``, ``role``, ``action``, ``object``,
  ``case_id`` and ``outcome`` beside the signed body, for queries (the lead report's timeline and
  the audit viewer's case filter read them). Each is compared with the body: an edit to a column
  alone is named as an edited entry.
* **Rows that hold the seq of their audit entry** (examinations, searches, enrolled images; the
  column ``audit_seq``, filled in the transaction that wrote the row and its entry): the entry must
  be in the log and name that row. A log emptied or cut short while those rows remain is named as
  truncated, even when the checkpoints were deleted with it.

What no local check can catch, since whoever holds the store key can rewrite everything
consistently (or put back an older copy of the whole database): a log cut together with every row
that refers to the cut part. The central receiver holds what it acknowledged and catches that.
"""

from __future__ import annotations

import json

COLUMNS = (("at", "at"), ("actor", "actor"), ("role", "role"), ("action", "action"), ("object", "object"),
           ("case_id", "case"), ("outcome", "outcome"))  # fmt: skip

# table, what a person calls its row, the action that records it, the object that entry names
REFERENCES = (
    ("examinations", "examination", "exam.start", "'exam:' || t.id"),
    ("searches", "search", "search", "'search:' || t.id"),
    ("face_images", "enrolled image", "gallery.enroll", "'subject:' || t.subject_id || '/image:' || t.id"),
)


def check_columns(conn, checker, page: int = 2000) -> None:
    names = ", ".join(c for c, _ in COLUMNS)
    after = -(2**62)
    while True:
        rows = conn.execute(
            f"SELECT seq, body, {names} FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?",  # noqa: S608 - constants
            (after, page),
        ).fetchall()
        for seq, body, *values in rows:
            try:
                signed = json.loads(body)
            except ValueError:
                continue  # the chain check names an unreadable body
            if not isinstance(signed, dict):
                continue
            for (column, field), value in zip(COLUMNS, values, strict=True):
                if value != signed.get(field):
                    checker.problem("edited", seq, f"its {column} column says {value!r} but the signed entry "
                                                   f"says {signed.get(field)!r}")  # fmt: skip
        if len(rows) < page:
            return
        after = rows[-1][0]


def _has_column(conn, table: str, column: str) -> bool:
    return any(row[1] == column for row in conn.execute(f"PRAGMA table_info({table})"))


def check_references(conn, checker, head_seq: int) -> None:
    for table, what, action, object_sql in REFERENCES:
        if not _has_column(conn, table, "audit_seq"):
            continue
        rows = conn.execute(
            f"SELECT t.id, t.audit_seq, {object_sql}, a.action, a.object FROM {table} t"  # noqa: S608 - constants
            " LEFT JOIN audit_log a ON a.seq = t.audit_seq WHERE t.audit_seq IS NOT NULL ORDER BY t.audit_seq"
        ).fetchall()
        beyond = [(row_id, seq) for row_id, seq, *_ in rows if seq > head_seq]
        if beyond:
            first, last = beyond[0][0], beyond[-1][1]
            message = f"{len(beyond)} {what}(s) (first: {what} {first}) were recorded by entries up to {last}"
            checker.problem("truncated", head_seq + 1, f"{message}, but the log ends at {head_seq}")
        for row_id, seq, expected_object, entry_action, entry_object in rows:
            if seq > head_seq:
                continue
            if entry_action is None:
                checker.problem("deleted", seq, f"{what} {row_id} was recorded by entry {seq}, which is missing")
            elif (entry_action, entry_object) != (action, expected_object):
                checker.problem("edited", seq, f"{what} {row_id} was recorded by entry {seq}, which now says "
                                               f"{entry_action} {entry_object}")  # fmt: skip
