"""The data dir and its SQLCipher database: the single source of truth.

Layout of a data dir (mode 0700)::

    keyslots        the wrapped root key (see device.keys); no personal data
    fieldface.db    SQLCipher 4, raw 256-bit key derived from the root key (HKDF "sqlcipher")
    fieldface.db-wal / -shm   SQLite's write-ahead log (pages encrypted like the database)
    cache/          files outside SQLCipher, each sealed with AES-256-GCM (device.store.sealed)

Connections are cheap: the raw-key form of ``PRAGMA key`` skips SQLCipher's own PBKDF2, so a
web request may open its own connection (flaskr pattern) instead of sharing one across threads.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import sqlcipher3

from device import __version__
from device.config import StoreConfig
from device.errors import StoreError
from device.fsutil import fsync_dir
from device.keys import KeyRing, MasterSecret, Purpose, create_slots, read_slots, unlock
from device.store.migrations import apply_migrations, latest_version

log = logging.getLogger(__name__)

DB_FILE = "fieldface.db"
CACHE_DIR = "cache"

DatabaseError = sqlcipher3.dbapi2.DatabaseError
DISK_FULL = "database or disk is full"  # SQLITE_FULL: SQLite's words for ENOSPC (and max_page_count)


def disk_full_error(db_path: Path, exc: Exception) -> StoreError | None:
    """The one-line error for a full disk, or None when ``exc`` is something else. Growing the
    -shm file (a first connection) fails as "disk I/O error", so that counts when space is gone."""
    text = str(exc)
    if DISK_FULL not in text and not ("disk I/O error" in text and shutil.disk_usage(db_path.parent).free < 1 << 20):
        return None
    return StoreError(f"the disk holding {db_path} is full: nothing was written; free space and retry")


class Connection(sqlcipher3.dbapi2.Connection):
    """Every store connection: a full disk becomes one StoreError, whichever module was writing.

    On SQLITE_FULL SQLite rolls the transaction back itself; the caller's ROLLBACK then finds no
    transaction, and is made a no-op so that the full disk, not "no transaction", is what is said.
    """

    def __init__(self, database, *args, **kwargs):
        super().__init__(database, *args, **kwargs)
        self.path = database

    def _full(self, exc: Exception) -> Exception:
        return disk_full_error(Path(self.path), exc) or exc

    def execute(self, sql, *args):
        if not self.in_transaction and sql == "ROLLBACK":
            return super().execute("SELECT 0")
        try:
            return super().execute(sql, *args)
        except sqlcipher3.dbapi2.OperationalError as exc:
            raise self._full(exc) from None

    def executemany(self, sql, *args):
        try:
            return super().executemany(sql, *args)
        except sqlcipher3.dbapi2.OperationalError as exc:
            raise self._full(exc) from None

    def executescript(self, script):
        try:
            return super().executescript(script)
        except sqlcipher3.dbapi2.OperationalError as exc:
            raise self._full(exc) from None


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Store:
    """An unlocked data dir. Open connections with ``connect()`` / ``transaction()``."""

    data_dir: Path
    keyring: KeyRing
    config: StoreConfig
    # One idle keyed connection per thread, lent out by ``connection()``: opening one (key,
    # pragmas) costs about a millisecond, and a request of the review UI uses a dozen in turn.
    # A nested ``connection()`` gets a fresh one, as before; ``lock()`` closes them all.
    _idle: threading.local = field(default_factory=threading.local, init=False, repr=False, compare=False)
    _idle_conns: set = field(default_factory=set, init=False, repr=False, compare=False)
    _pool_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)
    _generation: int = field(default=0, init=False, repr=False, compare=False)

    @property
    def db_path(self) -> Path:
        return self.data_dir / DB_FILE

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / CACHE_DIR

    def connect(self) -> Connection:
        """A new connection, keyed and configured; the caller closes it."""
        conn = sqlcipher3.connect(str(self.db_path), isolation_level=None, check_same_thread=False, factory=Connection)
        try:
            # Before the key, so a failed HMAC check is our one-line error, not SQLCipher's log.
            conn.execute("PRAGMA cipher_log_level = NONE")
            conn.execute(f"PRAGMA key = \"x'{self.keyring.subkey(Purpose.DATABASE).hex()}'\"")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA synchronous = {self.config.synchronous}")
            conn.execute(f"PRAGMA busy_timeout = {int(self.config.busy_timeout_ms)}")
            conn.execute("PRAGMA foreign_keys = ON")
            # Deleted rows (a subject's face, a purged probe) are overwritten, not left in free pages.
            conn.execute("PRAGMA secure_delete = ON")
            # Sorts and temp tables stay in RAM: nothing spills to an unencrypted temp file.
            conn.execute("PRAGMA temp_store = MEMORY")
        except DatabaseError as exc:
            conn.close()
            full = disk_full_error(self.db_path, exc)
            if full is not None:
                raise full from None
            raise StoreError(f"{self.db_path} does not open with this key or is damaged ({exc})") from None
        except BaseException:
            conn.close()
            raise
        return conn

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """A keyed connection for a block: this thread's idle one if it has one, else a new one.
        It goes back to the thread's slot afterwards unless it is in a transaction, the block
        failed, the slot was filled meanwhile (nested use), or the box locked (``close_idle``)."""
        entry = getattr(self._idle, "entry", None)
        self._idle.entry = None
        if entry is not None and entry[1:] == (os.getpid(), self._generation):
            conn = entry[0]
            with self._pool_lock:
                self._idle_conns.discard(conn)
        else:  # none idle, or one from before a fork (never used across it) or a lock
            conn = self.connect()
        generation = self._generation
        try:
            yield conn
        except BaseException:
            conn.close()
            raise
        if conn.in_transaction or self._idle.entry is not None or generation != self._generation:
            conn.close()
            return
        with self._pool_lock:
            if generation != self._generation:
                conn.close()
                return
            self._idle_conns.add(conn)
        self._idle.entry = (conn, os.getpid(), generation)

    def close_idle(self) -> None:
        """Close the idle connections of every thread (the box locks); ones in use close when
        their block ends."""
        with self._pool_lock:
            self._generation += 1
            idle, self._idle_conns = self._idle_conns, set()
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.close()

    @contextlib.contextmanager
    def transaction(self, conn: Connection | None = None) -> Iterator[Connection]:
        """One write transaction (BEGIN IMMEDIATE ... COMMIT), rolled back on any exception."""
        own = conn is None
        conn = conn or self.connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            if own:
                conn.close()

    def schema_version(self) -> int:
        with self.connection() as conn:
            return conn.execute("PRAGMA user_version").fetchone()[0]

    def meta(self) -> dict[str, str]:
        with self.connection() as conn:
            return dict(conn.execute("SELECT key, value FROM meta").fetchall())

    def counts(self) -> dict[str, int]:
        """Rows per table: the store's contents at a glance, for ``status``."""
        with self.connection() as conn:
            tables = [
                row[0]
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
                )
            ]
            # Table names come from sqlite_master, not from the user.
            return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}  # noqa: S608

    def check_integrity(self) -> list[str]:
        """Problems found by SQLite's and SQLCipher's checks (page HMACs); empty when sound."""
        with self.connection() as conn:
            problems = [row[0] for row in conn.execute("PRAGMA integrity_check") if row[0] != "ok"]
            problems += [row[0] for row in conn.execute("PRAGMA cipher_integrity_check")]
        return problems

    def lock(self) -> None:
        """Drop the keys from memory: every later connect() fails with LockedError."""
        self.keyring.wipe()
        self.close_idle()


def is_data_dir(path: Path) -> bool:
    return (path / "keyslots").exists()


@contextlib.contextmanager
def building_new(data_dir: Path, verb: str) -> Iterator[Path]:
    """A fresh sibling folder to build a new data dir in, renamed into place once the block ends
    without error and removed otherwise: an interrupted init or restore leaves nothing half-made.

    Refuses a ``data_dir`` that exists and is not empty: nothing here ever overwrites a store.
    ``verb`` says what is being done in messages ("create", "restore into").
    """
    data_dir = Path(data_dir)
    if data_dir.exists() and (not data_dir.is_dir() or any(data_dir.iterdir())):
        raise StoreError(f"{data_dir} already exists and is not empty; refusing to overwrite it")
    if not data_dir.parent.is_dir():
        raise StoreError(f"cannot {verb} {data_dir}: {data_dir.parent} does not exist")
    staging = data_dir.with_name(f".{data_dir.name}.new-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir(mode=0o700)
        (staging / CACHE_DIR).mkdir(mode=0o700)
        yield staging
        if data_dir.exists():
            data_dir.rmdir()  # empty, checked above (e.g. made by systemd-tmpfiles)
        os.rename(staging, data_dir)
        fsync_dir(data_dir.parent)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise StoreError(f"cannot {verb} {data_dir}: {exc.strerror or exc}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def init_data_dir(data_dir: Path, secret: MasterSecret, config, device_id: str = "") -> Store:
    """Create a new encrypted data dir; refuses any existing non-empty folder.

    Built in a sibling temp folder and renamed into place, so an interrupted init leaves no
    half-made data dir that would later refuse to unlock.
    """
    data_dir = Path(data_dir)
    with building_new(data_dir, "create") as staging:
        keyring = create_slots(staging, secret, config.keys)
        # SQLite gives the -wal and -shm files the mode of the database file.
        os.close(os.open(staging / DB_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        store = Store(staging, keyring, config.store)
        with store.connection() as conn:
            apply_migrations(conn)
            with store.transaction(conn):
                conn.executemany(
                    "INSERT INTO meta(key, value) VALUES (?, ?)",
                    [
                        ("device_id", device_id or config.device.id or f"ff-{secrets.token_hex(6)}"),
                        ("created_at", utc_now()),
                        ("created_by_version", __version__),
                    ],
                )
    return Store(data_dir, keyring, config.store)


def open_store(data_dir: Path, secret: MasterSecret, config) -> Store:
    """Unlock ``data_dir`` with ``secret`` and bring its schema up to date."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise StoreError(f"data dir {data_dir} does not exist; create it with 'fieldface init'")
    read_slots(data_dir)  # a clear "not a data dir" before spending time on Argon2
    keyring, _ = unlock(data_dir, secret)
    store = Store(data_dir, keyring, config.store)
    with store.connection() as conn:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > latest_version():
            raise StoreError(
                f"{data_dir} has schema {version}, newer than this software knows ({latest_version()}); "
                "upgrade fieldface"
            )
        if version < latest_version():
            log.info("migrating %s from schema %d to %d", data_dir, version, latest_version())
            apply_migrations(conn)
    return store
