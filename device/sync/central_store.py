"""Where the central receiver keeps entries: SQLite by default, PostgreSQL for a real site.

Both sit behind one small DB-API seam (``Backend``): the SQL is written once with ``?``
placeholders, a backend says how to connect, how to spell placeholders and how to serialise the
writers of one device (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory
lock per device, so several receivers can write to one database without racing on a head).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

from device.audit.entry import GENESIS, Entry
from device.errors import ConfigError, SyncError

log = logging.getLogger(__name__)

SCHEMA = (
    """CREATE TABLE IF NOT EXISTS audit_entries (
        device TEXT NOT NULL, seq BIGINT NOT NULL, hash TEXT NOT NULL, body TEXT NOT NULL,
        received_at TEXT NOT NULL, PRIMARY KEY (device, seq))""",
    # The last verified head of each device, with the device's signature over it.
    """CREATE TABLE IF NOT EXISTS audit_heads (
        device TEXT PRIMARY KEY, seq BIGINT NOT NULL, hash TEXT NOT NULL, sig TEXT NOT NULL,
        updated_at TEXT NOT NULL)""",
    # Everything refused, loudly: gaps, forks, bad signatures, unknown devices, garbage.
    """CREATE TABLE IF NOT EXISTS audit_rejects (
        at TEXT NOT NULL, device TEXT NOT NULL, kind TEXT NOT NULL, seq BIGINT NOT NULL,
        detail TEXT NOT NULL)""",
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SqliteBackend:
    def __init__(self, path: Path):
        self.path = Path(path)

    def connect(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")  # acked means on disk
        return conn

    def sql(self, text: str) -> str:
        return text

    def begin(self, cur, device: str) -> None:
        cur.execute("BEGIN IMMEDIATE")


class PostgresBackend:
    def __init__(self, dsn: str):
        url = urlparse(dsn)
        self._params = {
            "user": unquote(url.username or "postgres"),
            "password": unquote(url.password) if url.password else None,
            "host": url.hostname or "localhost",
            "port": url.port or 5432,
            "database": url.path.lstrip("/") or None,
        }

    def connect(self):
        try:
            import pg8000.dbapi  # optional: pip install 'fieldface[postgres]'
        except ImportError:
            raise ConfigError("receiver.database is PostgreSQL but pg8000 is not installed") from None
        try:
            return pg8000.dbapi.connect(**self._params)
        except pg8000.dbapi.Error as exc:
            raise SyncError(f"cannot connect to PostgreSQL at {self._params['host']}: {exc}") from None

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def begin(self, cur, device: str) -> None:
        # pg8000 opens the transaction itself; the lock lives until commit/rollback.
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (device,))


def backend_for(database: str):
    if database.startswith(("postgresql://", "postgres://")):
        return PostgresBackend(database)
    return SqliteBackend(Path(database))


class CentralStore:
    """One connection; the receiver handles one message at a time per process."""

    def __init__(self, backend):
        self._b = backend
        self._conn = backend.connect()
        cur = self._conn.cursor()
        for ddl in SCHEMA:
            cur.execute(ddl)
        self._conn.commit()

    def _exec(self, cur, sql: str, params: tuple = ()):
        cur.execute(self._b.sql(sql), params)
        return cur

    @contextlib.contextmanager
    def device_transaction(self, device: str) -> Iterator[DeviceTx]:
        cur = self._conn.cursor()
        self._b.begin(cur, device)
        try:
            yield DeviceTx(self, cur, device)
        except BaseException:
            self._conn.rollback()
            raise
        self._conn.commit()

    def reject(self, device: str, kind: str, seq: int, detail: str) -> None:
        log.error("REJECTED %s from device %r at seq %d: %s", kind, device, seq, detail)
        cur = self._conn.cursor()
        self._exec(
            cur, "INSERT INTO audit_rejects(at, device, kind, seq, detail) VALUES (?, ?, ?, ?, ?)",
            (_now(), device, kind, seq, detail[:2000]),
        )  # fmt: skip
        self._conn.commit()

    def head(self, device: str) -> tuple[int, str]:
        cur = self._exec(self._conn.cursor(), "SELECT seq, hash FROM audit_heads WHERE device = ?", (device,))
        row = cur.fetchone()
        self._conn.commit()
        return (int(row[0]), row[1]) if row else (0, GENESIS)

    def entries(self, device: str) -> list[tuple[int, str, str]]:
        """``(seq, hash, body)`` in order: for reports and tests."""
        cur = self._exec(
            self._conn.cursor(),
            "SELECT seq, hash, body FROM audit_entries WHERE device = ? ORDER BY seq",
            (device,),
        )
        rows = [(int(s), h, b) for s, h, b in cur.fetchall()]
        self._conn.commit()
        return rows

    def rejects(self) -> list[tuple[str, str, int, str]]:
        cur = self._exec(self._conn.cursor(), "SELECT device, kind, seq, detail FROM audit_rejects ORDER BY at")
        rows = [(d, k, int(s), t) for d, k, s, t in cur.fetchall()]
        self._conn.commit()
        return rows

    def close(self) -> None:
        self._conn.close()


class DeviceTx:
    """Reads and writes for one device inside its serialised transaction."""

    def __init__(self, store: CentralStore, cur, device: str):
        self._s, self._cur, self.device = store, cur, device

    def head(self) -> tuple[int, str]:
        row = self._s._exec(self._cur, "SELECT seq, hash FROM audit_heads WHERE device = ?", (self.device,)).fetchone()
        return (int(row[0]), row[1]) if row else (0, GENESIS)

    def hashes(self, first: int, last: int) -> dict[int, str]:
        rows = self._s._exec(
            self._cur, "SELECT seq, hash FROM audit_entries WHERE device = ? AND seq BETWEEN ? AND ?",
            (self.device, first, last),
        ).fetchall()  # fmt: skip
        return {int(s): h for s, h in rows}

    def append(self, entries: list[Entry], head_sig: str) -> None:
        now = _now()
        self._cur.executemany(
            self._s._b.sql("INSERT INTO audit_entries(device, seq, hash, body, received_at) VALUES (?, ?, ?, ?, ?)"),
            [(self.device, e.seq, e.hash, e.canonical().decode(), now) for e in entries],
        )
        last = entries[-1]
        self._s._exec(self._cur, "DELETE FROM audit_heads WHERE device = ?", (self.device,))
        self._s._exec(
            self._cur, "INSERT INTO audit_heads(device, seq, hash, sig, updated_at) VALUES (?, ?, ?, ?, ?)",
            (self.device, last.seq, last.hash, head_sig, now),
        )  # fmt: skip
