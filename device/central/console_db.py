"""The console's writable corner of the central store, and its own hash-chained log.

The unit's login code (device/workflow/sessions.py, throttle.py, users.py) talks to a ``store``
with ``connection()`` and ``transaction(conn)`` and to connections with sqlite3's
``execute``/``executemany``. ``ConsoleDb`` is that seam over a central backend (SQLCipher or
PostgreSQL), so the console logs people in with the unit's own code over its own ``users`` and
``sessions`` tables (migration 0002_console) instead of a second implementation.

``ConsoleLog`` is the ``audit`` those functions write to: every console action (logins, report
runs, exports, acknowledgements) is an entry built by device/audit/entry.py (canonical JSON,
SHA-256, ``prev`` = the previous entry's hash) in ``console_log``, append-only by trigger.
Write transactions are serialised (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: one advisory lock),
so two requests never chain onto the same entry.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator

from device.audit.entry import GENESIS, Draft, Entry, SystemClock

CONSOLE_LOCK = "fieldface-console"


class _Conn:
    """A DB-API connection spoken to like sqlite3 (``?`` placeholders on every backend)."""

    def __init__(self, backend, raw):
        self.backend, self.raw = backend, raw

    def execute(self, sql: str, params: tuple = ()):
        cur = self.raw.cursor()
        cur.execute(self.backend.sql(sql), tuple(params))
        return cur

    def executemany(self, sql: str, rows) -> None:
        self.raw.cursor().executemany(self.backend.sql(sql), [tuple(r) for r in rows])


class ConsoleDb:
    def __init__(self, backend):
        self.backend = backend

    @contextlib.contextmanager
    def connection(self) -> Iterator[_Conn]:
        raw = self.backend.connect()
        try:
            yield _Conn(self.backend, raw)
        finally:
            with contextlib.suppress(Exception):
                raw.rollback()  # a read left open; writes were committed by transaction()
            raw.close()

    @contextlib.contextmanager
    def transaction(self, conn: _Conn) -> Iterator[None]:
        cur = conn.raw.cursor()
        if self.backend.dialect == "sqlite":
            cur.execute("ROLLBACK")
            cur.execute("BEGIN IMMEDIATE")
        else:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (CONSOLE_LOCK,))
        try:
            yield
        except BaseException:
            conn.raw.rollback()
            raise
        conn.raw.commit()


class ConsoleLog:
    """The console's chain. ``device`` in each body names the console (``console:<name>``)."""

    def __init__(self, db: ConsoleDb, name: str = "central", clock=None):
        self.db, self.device_id, self._clock = db, f"console:{name}", clock or SystemClock()

    def append_in(self, conn: _Conn, drafts: list[Draft]) -> list[Entry]:
        """Inside the caller's ``transaction``: the entries commit with the caller's rows."""
        row = conn.execute("SELECT seq, hash FROM console_log ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (int(row[0]), row[1]) if row else (0, GENESIS)
        out = []
        for draft in drafts:
            seq += 1
            entry = Entry.build(draft, seq=seq, prev=prev, device=self.device_id, clock=self._clock)
            out.append(entry)
            prev = entry.hash
        conn.executemany(
            "INSERT INTO console_log(seq, at, actor, action, body, hash) VALUES (?, ?, ?, ?, ?, ?)",
            [(e.seq, e.at, e.actor, e.action, e.canonical().decode(), e.hash) for e in out],
        )
        return out

    def record(self, action: str, *, actor: str, role: str, object: str | None = None, case: str | None = None,
               outcome: str = "ok", details: dict | None = None) -> Entry:  # fmt: skip
        draft = Draft(action, actor, role, object, case, outcome, dict(details or {}))
        with self.db.connection() as conn, self.db.transaction(conn):
            return self.append_in(conn, [draft])[0]

    def entries(self, limit: int = 200, after: int = 0) -> list[Entry]:
        with self.db.connection() as conn:
            rows = conn.execute(
                "SELECT body, hash FROM console_log WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit)
            ).fetchall()
        return [Entry.from_body(json.loads(b), h) for b, h in rows]

    def latest(self, limit: int = 100) -> list[Entry]:
        with self.db.connection() as conn:
            rows = conn.execute("SELECT body, hash FROM console_log ORDER BY seq DESC LIMIT ?", (limit,)).fetchall()
        return [Entry.from_body(json.loads(b), h) for b, h in rows]

    def verify(self) -> list[str]:
        """Every problem of the chain (content against hash, links, gaps); empty when intact."""
        problems, prev, expected, after = [], GENESIS, 1, 0
        while True:
            page = self.entries(limit=5000, after=after)
            for e in page:
                if e.seq != expected:
                    problems.append(f"console log: entry {expected} missing (next is {e.seq})")
                if e.computed_hash() != e.hash:
                    problems.append(f"console log: edited at seq {e.seq}: its content does not match its hash")
                if e.prev != prev:
                    problems.append(f"console log: broken link at seq {e.seq}")
                prev, expected = e.hash, e.seq + 1
            if len(page) < 5000:
                return problems
            after = page[-1].seq
