"""``AuditLog``: durable, chained, signed appends with group commit.

``record()`` returns only after its entry is committed with ``synchronous = FULL`` (the WAL is
fsync'd): an action is never reported done before its audit entry is on disk.

Group commit: callers queue their drafts; whichever caller finds no commit running becomes the
leader, takes *every* queued draft, writes them in one transaction with one signed checkpoint and
one fsync, and wakes the others. Under load a commit carries many entries for the price of one
fsync and one signature. Several processes (CLI, web, sync) may append at once: ``BEGIN
IMMEDIATE`` serialises them and the head is read inside the transaction, so the chain stays one
line across processes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass

from device.audit.entry import GENESIS, Clock, Draft, Entry, SystemClock
from device.audit.signing import DeviceSigner

INSERT_ENTRY = (
    "INSERT INTO audit_log(seq, at, actor, role, action, object, case_id, outcome, body, hash)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


@dataclass(frozen=True)
class Checkpoint:
    seq: int
    hash: str
    sig: str
    at: str


class _Waiter:
    __slots__ = ("draft", "entry", "error")

    def __init__(self, draft: Draft):
        self.draft = draft
        self.entry: Entry | None = None
        self.error: BaseException | None = None


def entry_from_row(body: str, hash_blob: bytes) -> Entry:
    return Entry.from_body(json.loads(body), bytes(hash_blob).hex())


class AuditLog:
    """The audit log of one store; thread-safe, one instance per process is enough."""

    def __init__(self, store, *, clock: Clock | None = None):
        self._store = store
        self._clock = clock or SystemClock()
        self._device = store.meta()["device_id"]
        self._signer = DeviceSigner.from_keyring(store.keyring, self._device)
        self._cv = threading.Condition()
        self._queue: list[_Waiter] = []
        self._leading = False
        self._conn = None

    @property
    def device_id(self) -> str:
        return self._device

    @property
    def store(self):
        return self._store

    @property
    def signer(self) -> DeviceSigner:
        return self._signer

    def record(
        self,
        action: str,
        *,
        actor: str,
        role: str,
        object: str | None = None,
        case: str | None = None,
        outcome: str = "ok",
        details: dict | None = None,
    ) -> Entry:
        """Append one entry; returns it once it is on disk. UsageError for a bad field."""
        draft = Draft(action, actor, role, object, case, outcome, dict(details or {}))
        waiter = _Waiter(draft)
        with self._cv:
            self._queue.append(waiter)
            while waiter.entry is None and waiter.error is None:
                if self._leading:
                    self._cv.wait()
                    continue
                self._leading = True
                batch, self._queue = self._queue, []
                self._cv.release()
                try:
                    self._commit(batch)
                finally:
                    self._cv.acquire()
                    self._leading = False
                    self._cv.notify_all()
        if waiter.error is not None:
            raise waiter.error
        return waiter.entry

    def append_in(self, conn, drafts: list[Draft]) -> list[Entry]:
        """Append inside the caller's open write transaction (``BEGIN IMMEDIATE``), for an action
        whose own rows and audit entry must commit together. The caller commits."""
        row = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        seq, prev = (row[0], bytes(row[1]).hex()) if row else (0, GENESIS)
        entries = []
        for draft in drafts:
            seq += 1
            entry = Entry.build(draft, seq=seq, prev=prev, device=self._device, clock=self._clock)
            entries.append(entry)
            prev = entry.hash
        conn.executemany(
            INSERT_ENTRY,
            [
                (e.seq, e.at, e.actor, e.role, e.action, e.object, e.case, e.outcome,
                 e.canonical().decode(), bytes.fromhex(e.hash))
                for e in entries
            ],
        )  # fmt: skip
        last = entries[-1]
        conn.execute(
            "INSERT INTO audit_checkpoint(seq, hash, sig, at) VALUES (?, ?, ?, ?)",
            (
                last.seq,
                bytes.fromhex(last.hash),
                bytes.fromhex(self._signer.sign_head(last.seq, last.hash)),
                last.at,
            ),
        )
        return entries

    def _connection(self):
        if self._conn is None:
            conn = self._store.connect()
            # Whatever store.synchronous says: an audit entry must survive a power cut.
            conn.execute("PRAGMA synchronous = FULL")
            self._conn = conn
        return self._conn

    def _commit(self, batch: list[_Waiter]) -> None:
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                entries = self.append_in(conn, [w.draft for w in batch])
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        except BaseException as exc:  # noqa: BLE001 - even an interrupt must wake the waiters, who re-raise it
            for waiter in batch:
                waiter.error = exc
            return
        for waiter, entry in zip(batch, entries, strict=True):
            waiter.entry = entry

    def close(self) -> None:
        with self._cv:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # ---- reading -------------------------------------------------------------------------------

    def head(self) -> tuple[int, str]:
        """``(seq, hash)`` of the last entry; ``(0, GENESIS)`` for an empty log."""
        with self._store.connection() as conn:
            row = conn.execute("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetchone()
        return (row[0], bytes(row[1]).hex()) if row else (0, GENESIS)

    def entries(self, after: int = 0, limit: int | None = None, conn=None) -> list[Entry]:
        sql = "SELECT body, hash FROM audit_log WHERE seq > ? ORDER BY seq"
        params: tuple = (after,)
        if limit is not None:
            sql += " LIMIT ?"
            params = (after, limit)
        if conn is not None:
            return [entry_from_row(b, h) for b, h in conn.execute(sql, params)]
        with self._store.connection() as own:
            return [entry_from_row(b, h) for b, h in own.execute(sql, params)]

    def newest(self, limit: int, before: int | None = None, case: str = "", action: str = "") -> list[Entry]:
        """Newest first, at most ``limit``, below seq ``before``; ``case`` exact, ``action`` a prefix
        (taken literally: ``%`` and ``_`` are not wildcards). The audit viewer's page."""
        sql, params = "SELECT body, hash FROM audit_log WHERE 1 = 1", []
        if case:
            sql, params = sql + " AND case_id = ?", [*params, case]
        if action:
            literal = action.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            sql, params = sql + " AND action LIKE ? ESCAPE '\\'", [*params, literal + "%"]
        if before:
            sql, params = sql + " AND seq < ?", [*params, before]
        with self._store.connection() as conn:
            rows = conn.execute(sql + " ORDER BY seq DESC LIMIT ?", [*params, limit]).fetchall()
        return [entry_from_row(b, h) for b, h in rows]

    def iter_entries(self, after: int = 0, page: int = 2000) -> Iterator[Entry]:
        """Every entry after ``after`` in pages, so a year of log never sits in memory at once."""
        while True:
            chunk = self.entries(after, page)
            yield from chunk
            if len(chunk) < page:
                return
            after = chunk[-1].seq

    def iter_rows(self, page: int = 2000) -> Iterator[tuple[int, str, str]]:
        """``(stored seq, body, hash)`` unparsed: for verify, which must survive a damaged row."""
        after = -(2**62)
        while True:
            with self._store.connection() as conn:
                rows = conn.execute(
                    "SELECT seq, body, hash FROM audit_log WHERE seq > ? ORDER BY seq LIMIT ?", (after, page)
                ).fetchall()
            yield from ((seq, body, bytes(h).hex()) for seq, body, h in rows)
            if len(rows) < page:
                return
            after = rows[-1][0]

    def entry_hash(self, seq: int) -> str | None:
        if seq == 0:
            return GENESIS
        with self._store.connection() as conn:
            row = conn.execute("SELECT hash FROM audit_log WHERE seq = ?", (seq,)).fetchone()
        return bytes(row[0]).hex() if row else None

    def checkpoints(self, after: int = 0) -> list[Checkpoint]:
        with self._store.connection() as conn:
            rows = conn.execute(
                "SELECT seq, hash, sig, at FROM audit_checkpoint WHERE seq > ? ORDER BY seq", (after,)
            ).fetchall()
        return [Checkpoint(s, bytes(h).hex(), bytes(g).hex(), a) for s, h, g, a in rows]

    # ---- the sync cursor -----------------------------------------------------------------------

    def acked(self, destination: str) -> tuple[int, str]:
        with self._store.connection() as conn:
            row = conn.execute(
                "SELECT acked_seq, acked_hash FROM audit_sync WHERE destination = ?", (destination,)
            ).fetchone()
        return (row[0], bytes(row[1]).hex()) if row else (0, GENESIS)

    def all_acked(self) -> dict[str, tuple[int, str]]:
        with self._store.connection() as conn:
            rows = conn.execute("SELECT destination, acked_seq, acked_hash FROM audit_sync").fetchall()
        return {d: (s, bytes(h).hex()) for d, s, h in rows}

    def set_acked(self, destination: str, seq: int, hash_hex: str) -> None:
        with self._store.transaction() as conn:
            # Never moves backwards: a late, stale ack must not undo a newer one.
            conn.execute(
                "INSERT INTO audit_sync(destination, acked_seq, acked_hash, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(destination) DO UPDATE SET acked_seq = excluded.acked_seq,"
                " acked_hash = excluded.acked_hash, updated_at = excluded.updated_at"
                " WHERE excluded.acked_seq >= audit_sync.acked_seq",
                (destination, seq, bytes.fromhex(hash_hex), self._clock.utc()),
            )
