"""The central store: SQLite in ``--store DIR`` for a small agency, PostgreSQL for a real site.

Both sit behind one small DB-API seam (``Backend``): the SQL is written once with ``?``
placeholders; a backend says how to connect, how to spell placeholders and how to serialise the
writers of one unit (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: a transaction-scoped advisory lock
per unit, so several receivers can write to one database without racing on a head).

The schema is numbered migrations per dialect in ``device/central/migrations/`` (version kept in
``central_schema``). Append-only is the database's own rule (triggers), and on PostgreSQL also a
matter of privileges: ``init`` creates a writer role (SELECT, INSERT, UPDATE of heads and status
only) and an auditor role (SELECT only); see ``device/central/roles.py``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import socket
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from urllib.parse import unquote, urlparse

from device.audit.entry import GENESIS, Entry
from device.central import days
from device.errors import ConfigError, StoreError, SyncError

log = logging.getLogger(__name__)

DB_FILE = "central.db"
_MIGRATION = re.compile(r"^(\d{4})_[a-z0-9_]+\.(sqlite|postgresql)\.sql$")
# Python steps of a migration, run after its SQL in its transaction: (cursor, placeholder rewrite).
AFTER_MIGRATION = {4: days.fill}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def migrations(dialect: str) -> list[tuple[int, str]]:
    found = []
    for entry in resources.files("device.central.migrations").iterdir():
        match = _MIGRATION.match(entry.name)
        if match and match.group(2) == dialect:
            found.append((int(match.group(1)), entry.read_text("utf-8")))
    return sorted(found)


def split_sql(script: str) -> list[str]:
    """Statements of a migration; ``;`` inside ``$$ ... $$`` (PL/pgSQL bodies) does not split."""
    out, current, quoted = [], [], False
    for line in script.splitlines():
        if line.strip().startswith("--") and not quoted:
            continue
        current.append(line)
        quoted ^= line.count("$$") % 2 == 1
        if not quoted and line.rstrip().endswith(";"):
            out.append("\n".join(current).strip().rstrip(";"))
            current = []
    if "".join(current).strip():
        out.append("\n".join(current).strip())
    return out


class SqliteBackend:
    """SQLCipher in the store dir, keyed like a unit's data dir: ``keyslots`` beside the database
    wrap a random root key under the central master secret (systemd credential
    ``central.credential_name``, ``$FIELDFACE_KEY_FILE`` or a typed passphrase); the database key
    is its HKDF subkey. Nothing in the dir is readable without that secret."""

    dialect = "sqlite"

    def __init__(self, path: Path, secret=None, keys_config=None):
        self.path = Path(path)
        self.where = str(self.path)
        self._secret, self._keys_config = secret, keys_config
        self._db_key: str | None = None

    def _key(self, create: bool) -> str:
        from device.keys import KEYSLOTS_FILE, Purpose, create_slots, unlock

        if self._db_key is None:
            if self._secret is None:
                raise StoreError(f"{self.path}: the central store is encrypted and no key was given")
            folder = self.path.parent
            if create and not (folder / KEYSLOTS_FILE).exists():
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                ring = create_slots(folder, self._secret, self._keys_config)
            else:
                ring, _ = unlock(folder, self._secret)
            self._db_key = ring.subkey(Purpose.DATABASE).hex()
            ring.wipe()
        return self._db_key

    def connect(self, create: bool = False):
        import sqlcipher3

        if not create and not self.path.exists():
            raise StoreError(f"no central store at {self.path}: run 'fieldface central --store DIR init'")
        key = self._key(create)
        conn = sqlcipher3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30)
        try:
            conn.execute("PRAGMA cipher_log_level = NONE")
            conn.execute(f"PRAGMA key = \"x'{key}'\"")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = FULL")  # acked means on disk
            conn.execute("PRAGMA temp_store = MEMORY")  # no plaintext in temp files
        except sqlcipher3.dbapi2.DatabaseError as exc:
            conn.close()
            raise StoreError(f"{self.path} does not open with this key or is damaged ({exc})") from None
        conn.execute("BEGIN")  # DB-API style, as pg8000: every statement inside a transaction
        return _SqliteConn(conn)

    def sql(self, text: str) -> str:
        return text

    def begin(self, cur, unit: str) -> None:
        # Upgrade the open read transaction to a write lock at once: one writer per store.
        cur.execute("ROLLBACK")
        cur.execute("BEGIN IMMEDIATE")


class _SqliteConn:
    """sqlite3 in autocommit mode made to behave like pg8000: commit/rollback start a new one."""

    def __init__(self, conn):
        self.raw = conn

    def cursor(self):
        return self.raw.cursor()

    def commit(self) -> None:
        self.raw.execute("COMMIT")
        self.raw.execute("BEGIN")

    def rollback(self) -> None:
        if self.raw.in_transaction:
            self.raw.execute("ROLLBACK")
        self.raw.execute("BEGIN")

    def close(self) -> None:
        if self.raw.in_transaction:
            self.raw.execute("ROLLBACK")
        self.raw.close()


class PostgresBackend:
    dialect = "postgresql"

    def __init__(self, dsn: str, password: str | None = None):
        url = urlparse(dsn)
        self.params = {
            "user": unquote(url.username or "postgres"),
            "password": password if password is not None else (unquote(url.password) if url.password else None),
            "host": url.hostname or "localhost",
            "port": url.port or 5432,
            "database": url.path.lstrip("/") or None,
        }
        p = self.params
        self.where = f"postgresql://{p['user']}@{p['host']}:{p['port']}/{p['database'] or ''}"

    def connect(self, create: bool = False):
        try:
            import pg8000.dbapi  # optional: pip install 'fieldface[postgres]'
        except ImportError:
            raise ConfigError("central.database is PostgreSQL but pg8000 is not installed") from None
        try:
            conn = pg8000.dbapi.connect(**self.params)
        except pg8000.dbapi.Error as exc:
            raise SyncError(f"cannot connect to PostgreSQL at {self.where}: {exc}") from None
        # pg8000 writes a statement in pieces and leaves Nagle's algorithm on: a statement over its
        # 8 KiB buffer (a batch of entries) then waits out the server's delayed ACK, ~40 ms each
        # (measured: 200-row inserts at 4,000 rows/s, 55,000 with this). It has no option for it;
        # the connection keeps its socket as ``_usock`` (pg8000 is pinned in constraints.txt).
        sock = getattr(conn, "_usock", None)
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return conn

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def begin(self, cur, unit: str) -> None:
        # pg8000 opens the transaction itself; the lock lives until commit/rollback.
        cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (unit,))


def backend_for(config, store_dir: Path | None = None, env=None, create: bool = False):
    """The backend the config names: PostgreSQL when ``central.database`` says so, else SQLCipher
    in the store dir, unlocked with the central secret (found as on a unit: credential, key file,
    prompt). ``config`` is the whole Config: its [keys] cost applies to a new store's key slot."""
    central = config.central
    database = central.database
    if database.startswith(("postgresql://", "postgres://")):
        password = None
        if central.password_file is not None:
            try:
                password = central.password_file.read_text("utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"central.password_file {central.password_file}: {exc.strerror}") from None
        return PostgresBackend(database, password)
    if database:
        raise ConfigError(
            f"central.database must be empty (SQLite in the store dir) or postgresql://..., got {database!r}"
        )
    from device.keys import obtain_secret

    path = Path(store_dir or central.store_dir) / DB_FILE
    if not create and not path.exists():  # said before asking for a key it would not need
        raise StoreError(f"no central store at {path}: run 'fieldface central --store DIR init'")
    keys = config.keys.model_copy(update={"credential_name": central.credential_name})
    return SqliteBackend(path, obtain_secret(keys, env), keys)


@dataclass(frozen=True)
class Epoch:
    epoch: int
    parent: int | None
    start_seq: int
    start_hash: str
    start_prev: str
    backup: dict
    lost_from: int | None
    lost_to: int | None
    started_at: str


_EPOCH_COLUMNS = "epoch, parent, start_seq, start_hash, start_prev, backup, lost_from, lost_to, started_at"


def _epoch(row) -> Epoch:
    e, p, s, h, prev, backup, lf, lt, at = row
    return Epoch(
        int(e),
        None if p is None else int(p),
        int(s),
        h,
        prev,
        json.loads(backup),
        None if lf is None else int(lf),
        None if lt is None else int(lt),
        at,
    )


class CentralStore:
    """One connection; a receiver handles one message at a time per process."""

    def __init__(self, backend, *, create: bool = False):
        self.backend = backend
        self._conn = backend.connect(create=create)
        if create:
            self.migrate()
        else:
            self.check_schema()

    # ---- plumbing -------------------------------------------------------------------------------

    def _exec(self, cur, sql: str, params: tuple = ()):
        cur.execute(self.backend.sql(sql), params)
        return cur

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        cur = self._exec(self._conn.cursor(), sql, params)
        rows = [tuple(r) for r in cur.fetchall()]
        self._conn.commit()
        return rows

    def write(self, sql: str, params: tuple = ()) -> None:
        try:
            self._exec(self._conn.cursor(), sql, params)
        except BaseException:
            self._conn.rollback()
            raise
        self._conn.commit()

    def _version(self) -> int | None:
        try:
            rows = self.query("SELECT max(version) FROM central_schema")
        except Exception:  # noqa: BLE001 - no such table: the driver's own error class differs per backend
            self._conn.rollback()
            return None
        return int(rows[0][0] or 0)

    def migrate(self) -> list[int]:
        """Apply the dialect's migrations not applied yet, each in one transaction."""
        cur = self._conn.cursor()
        self._exec(
            cur, "CREATE TABLE IF NOT EXISTS central_schema (version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        self._conn.commit()
        current, applied = self._version() or 0, []
        for version, script in migrations(self.backend.dialect):
            if version <= current:
                continue
            cur = self._conn.cursor()
            try:
                for statement in split_sql(script):
                    cur.execute(statement)
                if version in AFTER_MIGRATION:  # what SQL alone cannot do, in the same transaction
                    AFTER_MIGRATION[version](cur, self.backend.sql)
                self._exec(cur, "INSERT INTO central_schema(version, applied_at) VALUES (?, ?)", (version, now()))
            except BaseException:
                self._conn.rollback()
                raise
            self._conn.commit()
            applied.append(version)
        return applied

    def check_schema(self) -> None:
        version, latest = self._version(), migrations(self.backend.dialect)[-1][0]
        if version is None:
            raise StoreError(f"{self.backend.where} is not a central store: run 'fieldface central --store DIR init'")
        if version < latest:
            raise StoreError(
                f"central store {self.backend.where} is at schema {version}, this version needs "
                f"{latest}: run 'fieldface central init' (it migrates) as the owner"
            )
        if version > latest:
            raise StoreError(f"central store {self.backend.where} is newer ({version}) than this software ({latest})")

    @contextlib.contextmanager
    def unit_transaction(self, unit: str) -> Iterator[UnitTx]:
        cur = self._conn.cursor()
        self.backend.begin(cur, unit)
        try:
            yield UnitTx(self, cur, unit)
        except BaseException:
            self._conn.rollback()
            raise
        self._conn.commit()

    def close(self) -> None:
        self._conn.close()

    # ---- units ----------------------------------------------------------------------------------

    def add_unit(self, unit: str, name: str, audit_key: str, card: str, added_by: str) -> None:
        if self.query("SELECT 1 FROM units WHERE unit = ?", (unit,)):
            raise StoreError(f"unit {unit!r} is already registered; a unit's key is never replaced in place")
        self.write(
            "INSERT INTO units(unit, name, audit_key, card, added_at, added_by) VALUES (?, ?, ?, ?, ?, ?)",
            (unit, name, audit_key, card, now(), added_by),
        )

    def unit_keys(self) -> dict[str, str]:
        return dict(self.query("SELECT unit, audit_key FROM units"))

    def units(self) -> list[tuple[str, str, str]]:
        return self.query("SELECT unit, name, added_at FROM units ORDER BY unit")

    # ---- what went wrong, and what a person must see ---------------------------------------------

    def reject(self, unit: str, kind: str, seq: int, detail: str, via: str = "mqtt") -> None:
        log.error("REJECTED %s from unit %r at seq %d: %s", kind, unit, seq, detail)
        self.write(
            "INSERT INTO audit_rejects(at, unit, kind, seq, detail, via) VALUES (?, ?, ?, ?, ?, ?)",
            (now(), unit, kind, seq, detail[:2000], via),
        )

    def gap(self, unit: str, expected: int, got: int) -> None:
        # Normal after a lost or reordered message: the unit resends from `expected`.
        log.info("gap from unit %r: batch starts at %d, expected %d; the unit resends", unit, got, expected)
        self.write("INSERT INTO audit_gaps(at, unit, expected, got) VALUES (?, ?, ?, ?)", (now(), unit, expected, got))

    def alert(self, unit: str, kind: str, detail: str, cur=None) -> None:
        log.warning("ALERT %s for unit %r: %s", kind, unit, detail)
        sql, params = (
            "INSERT INTO alerts(at, unit, kind, detail) VALUES (?, ?, ?, ?)",
            (now(), unit, kind, detail[:2000]),
        )
        if cur is not None:
            self._exec(cur, sql, params)
        else:
            self.write(sql, params)

    def rejects(self, unit: str | None = None) -> list[tuple[str, str, int, str]]:
        sql = "SELECT unit, kind, seq, detail FROM audit_rejects"
        rows = self.query(sql + (" WHERE unit = ?" if unit else "") + " ORDER BY at", (unit,) if unit else ())
        return [(u, k, int(s), d) for u, k, s, d in rows]

    def gaps(self, unit: str) -> int:
        return int(self.query("SELECT count(*) FROM audit_gaps WHERE unit = ?", (unit,))[0][0])

    def alerts(self, unit: str | None = None) -> list[tuple[str, str, str, str]]:
        sql = "SELECT at, unit, kind, detail FROM alerts"
        return self.query(sql + (" WHERE unit = ?" if unit else "") + " ORDER BY at", (unit,) if unit else ())

    # ---- status ---------------------------------------------------------------------------------

    def record_status(self, unit: str, state: str, reported: dict) -> None:
        """Upsert what the unit said about itself; last contact is now."""
        at, body = now(), json.dumps(reported, sort_keys=True)
        self.write(
            "INSERT INTO unit_status(unit, last_contact, state, reported, reported_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (unit) DO UPDATE SET last_contact = excluded.last_contact, state = excluded.state,"
            " reported = excluded.reported, reported_at = excluded.reported_at",
            (unit, at, state, body, at),
        )

    def touch(self, unit: str, cur=None) -> None:
        """Any message from a unit is contact, even one that only repeats what central holds."""
        sql = (
            "INSERT INTO unit_status(unit, last_contact, state, reported, reported_at) VALUES (?, ?, 'online', '{}', ?)"
            " ON CONFLICT (unit) DO UPDATE SET last_contact = excluded.last_contact"
        )
        at = now()
        if cur is not None:
            self._exec(cur, sql, (unit, at, at))
        else:
            self.write(sql, (unit, at, at))

    def status(self) -> dict[str, tuple[str, str, dict, str]]:
        rows = self.query("SELECT unit, last_contact, state, reported, reported_at FROM unit_status")
        return {u: (c, s, json.loads(r), a) for u, c, s, r, a in rows}

    # ---- reading the chains ---------------------------------------------------------------------

    def epochs(self, unit: str) -> list[Epoch]:
        rows = self.query(f"SELECT {_EPOCH_COLUMNS} FROM audit_epochs WHERE unit = ? ORDER BY epoch", (unit,))  # noqa: S608
        return [_epoch(r) for r in rows]

    def fleet_chains(self) -> tuple[dict[str, list[Epoch]], dict[str, dict[int, tuple[int, str, str]]], dict[str, int]]:
        """Every unit's epochs, heads (as ``heads``) and gap count, in three queries: the fleet page
        draws hundreds of units, and a query per unit per fact was most of its time."""
        epochs: dict[str, list[Epoch]] = {}
        for row in self.query(f"SELECT unit, {_EPOCH_COLUMNS} FROM audit_epochs ORDER BY unit, epoch"):  # noqa: S608
            epochs.setdefault(row[0], []).append(_epoch(row[1:]))
        heads: dict[str, dict[int, tuple[int, str, str]]] = {}
        for u, e, s, h, g in self.query("SELECT unit, epoch, seq, hash, sig FROM audit_heads"):
            heads.setdefault(u, {})[int(e)] = (int(s), h, g)
        gaps = {u: int(n) for u, n in self.query("SELECT unit, count(*) FROM audit_gaps GROUP BY unit")}
        return epochs, heads, gaps

    def heads(self, unit: str) -> dict[int, tuple[int, str, str]]:
        """``{epoch: (seq, hash, sig)}``."""
        rows = self.query("SELECT epoch, seq, hash, sig FROM audit_heads WHERE unit = ?", (unit,))
        return {int(e): (int(s), h, g) for e, s, h, g in rows}

    def head(self, unit: str) -> tuple[int, str]:
        """The verified head of the unit's current epoch; ``(0, GENESIS)`` before its first entry."""
        heads = self.heads(unit)
        if not heads:
            return 0, GENESIS
        seq, hash_hex, _ = heads[max(heads)]
        return seq, hash_hex

    def entries(self, unit: str, epoch: int | None = None) -> list[tuple[int, str, str]]:
        """``(seq, hash, body)`` of one epoch (default: the lineage of the current one), in order."""
        if epoch is not None:
            return self.query(
                "SELECT seq, hash, body FROM audit_entries WHERE unit = ? AND epoch = ? ORDER BY seq", (unit, epoch)
            )
        # A read: no unit lock (the auditor role reads this too); one snapshot of the epochs and rows.
        rows = UnitTx(self, self._conn.cursor(), unit).lineage_rows(1, 2**62)
        self._conn.commit()
        return rows

    def iter_rows(self, unit: str, epoch: int, page: int = 5000) -> Iterator[tuple[int, str, str]]:
        after = 0
        while True:
            rows = self.query(
                "SELECT seq, hash, body FROM audit_entries WHERE unit = ? AND epoch = ? AND seq > ?"
                " ORDER BY seq LIMIT ?",
                (unit, epoch, after, page),
            )
            yield from ((int(s), h, b) for s, h, b in rows)
            if len(rows) < page:
                return
            after = int(rows[-1][0])


class UnitTx:
    """Reads and writes for one unit inside its serialised transaction."""

    def __init__(self, store: CentralStore, cur, unit: str):
        self._s, self._cur, self.unit = store, cur, unit

    def _q(self, sql: str, params: tuple = ()) -> list[tuple]:
        cur = self._s._exec(self._cur, sql, params)
        return [tuple(r) for r in cur.fetchall()] if cur.description else []

    def current(self) -> Epoch | None:
        rows = self._q(
            f"SELECT {_EPOCH_COLUMNS} FROM audit_epochs WHERE unit = ? ORDER BY epoch DESC LIMIT 1",  # noqa: S608
            (self.unit,),
        )
        return _epoch(rows[0]) if rows else None

    def _lineage(self) -> list[Epoch]:
        """The current epoch and its ancestors, newest first."""
        by_number = {
            e.epoch: e
            for e in map(
                _epoch,
                self._q(
                    f"SELECT {_EPOCH_COLUMNS} FROM audit_epochs WHERE unit = ?",  # noqa: S608
                    (self.unit,),
                ),
            )
        }
        out, number = [], max(by_number) if by_number else None
        while number is not None:
            out.append(by_number[number])
            number = by_number[number].parent
        return out

    def head(self, epoch: int) -> tuple[int, str]:
        rows = self._q("SELECT seq, hash FROM audit_heads WHERE unit = ? AND epoch = ?", (self.unit, epoch))
        return (int(rows[0][0]), rows[0][1]) if rows else (0, GENESIS)

    def lineage_rows(self, first: int, last: int) -> list[tuple[int, str, str]]:
        """``(seq, hash, body)`` from first to last as the current lineage holds them: each seq from
        the newest epoch that started at or before it."""
        out, upper = [], last
        for epoch in self._lineage():
            low = max(first, epoch.start_seq)
            if low <= upper:
                out += [
                    (int(s), h, b)
                    for s, h, b in self._q(
                        "SELECT seq, hash, body FROM audit_entries WHERE unit = ? AND epoch = ? AND seq BETWEEN ? AND ?"
                        " ORDER BY seq",
                        (self.unit, epoch.epoch, low, upper),
                    )
                ]
            upper = min(upper, epoch.start_seq - 1)
            if upper < first:
                break
        return sorted(out)

    def lineage_hashes(self, first: int, last: int) -> dict[int, str]:
        return {s: h for s, h, _ in self.lineage_rows(first, last)}

    def start_epoch(self, entry: Entry, parent: Epoch | None, lost: tuple[int, int] | None, now_s: str) -> Epoch:
        number = 0 if parent is None else parent.epoch + 1
        backup = entry.details.get("backup", {}) if entry.action == EPOCH_ACTION else {}
        self._s._exec(
            self._cur,
            f"INSERT INTO audit_epochs(unit, {_EPOCH_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            (
                self.unit,
                number,
                None if parent is None else parent.epoch,
                entry.seq,
                entry.hash,
                entry.prev,
                json.dumps(backup, sort_keys=True),
                lost[0] if lost else None,
                lost[1] if lost else None,
                now_s,
            ),
        )
        return Epoch(
            number,
            None if parent is None else parent.epoch,
            entry.seq,
            entry.hash,
            entry.prev,
            backup,
            lost[0] if lost else None,
            lost[1] if lost else None,
            now_s,
        )

    def append(self, epoch: int, entries: list[Entry], head_sig: str, via: str,
               canonical: dict[int, bytes] | None = None) -> None:  # fmt: skip
        """Store a verified run; ``canonical``: the bodies as the verifier serialised them, by seq."""
        at = now()
        canonical = canonical or {}
        # One multi-row INSERT per 200 entries: pg8000's executemany is a round trip per row.
        for i in range(0, len(entries), 200):
            part = entries[i : i + 200]
            rows = ", ".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(part))  # placeholders only
            values = []
            for e in part:
                body = (canonical.get(e.seq) or e.canonical()).decode()
                values += [self.unit, epoch, e.seq, e.hash, body, at, via]
            self._s._exec(
                self._cur,
                f"INSERT INTO audit_entries(unit, epoch, seq, hash, body, received_at, via) VALUES {rows}",  # noqa: S608
                tuple(values),
            )
        days.add(self._q, self.unit, entries, at)
        last = entries[-1]
        self._s._exec(
            self._cur,
            "INSERT INTO audit_heads(unit, epoch, seq, hash, sig, updated_at) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (unit, epoch) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, sig = excluded.sig,"
            " updated_at = excluded.updated_at",
            (self.unit, epoch, last.seq, last.hash, head_sig, at),
        )

    def alert(self, kind: str, detail: str) -> None:
        self._s.alert(self.unit, kind, detail, cur=self._cur)

    def touch(self) -> None:
        self._s.touch(self.unit, cur=self._cur)


EPOCH_ACTION = "audit.epoch"


class PooledBackend:
    """A PostgreSQL backend that keeps a few idle connections for the next user (the console: a
    page view opened four, ~25 ms each, a third of the fleet page's time at 200 units). Same
    interface as the backend it wraps; a lent connection's ``close()`` rolls back whatever was
    left open and gives it back. A connection is checked (``SELECT 1``) as it is lent, so one the
    server dropped is replaced, not handed out."""

    def __init__(self, backend: PostgresBackend, keep: int = 8):
        self._backend, self._keep = backend, keep
        self._idle: list = []
        self._lock = threading.Lock()
        # The idle connections end with the pool (an app discarded, a process exiting), not left
        # for the garbage collector to find open.
        self.close = weakref.finalize(self, _close_all, self._idle)

    # ``close()`` (the finalizer above) ends the idle connections; lent ones end when given back.

    def __getattr__(self, name: str):
        return getattr(self._backend, name)

    def connect(self, create: bool = False):
        while True:
            with self._lock:
                raw = self._idle.pop() if self._idle else None
            if raw is None:
                return _Lent(self._backend.connect(create), self)
            try:  # a round trip: pg8000's rollback sends nothing outside a transaction
                raw.cursor().execute("SELECT 1")
                raw.rollback()
            except Exception:  # noqa: BLE001 - dropped by the server: the driver's own error class
                with contextlib.suppress(Exception):
                    raw.close()
                continue
            return _Lent(raw, self)

    def _give_back(self, raw) -> None:
        if not self.close.alive:  # the pool was closed: nothing is kept any more
            with contextlib.suppress(Exception):
                raw.close()
            return
        try:
            raw.rollback()
        except Exception:  # noqa: BLE001 - broken: not kept
            with contextlib.suppress(Exception):
                raw.close()
            return
        with self._lock:
            if len(self._idle) < self._keep:
                self._idle.append(raw)
                return
        raw.close()


def _close_all(idle: list) -> None:
    while idle:
        with contextlib.suppress(Exception):
            idle.pop().close()


class _Lent:
    def __init__(self, raw, pool: PooledBackend):
        self._raw, self._pool = raw, pool

    def __getattr__(self, name: str):
        return getattr(self._raw, name)

    def close(self) -> None:
        raw, self._raw = self._raw, None
        if raw is not None:
            self._pool._give_back(raw)
