"""Process lifecycle of the long-lived processes (web, sync, hooks): sd_notify, signals, lock state.

* sd_notify: ``ready()``, ``watchdog_ping()``, ``status()``, ``stopping()`` are plain functions that
  do nothing when ``$NOTIFY_SOCKET`` is unset (nobodd style), so the same code runs under systemd,
  in a terminal and in tests. Callers send READY only once the store is unlocked and models are
  loaded, and ping the watchdog from real progress (a query that went through), never a timer.
* One stop event per process; SIGTERM/SIGINT only write a byte to a socket pair (a handler must
  not take locks the interrupted thread may hold) and a thread turns that into ``stop.set()``.
* The lock state of the box: ``Appliance`` holds the unlocked store, or nothing. Locking is
  cross-process through a *lockdown marker* ``<data dir>/lockdown`` (on the data partition, so a
  reboot does not undo a tamper lock): whoever locks writes it first, every keyed process polls it
  and drops its keys, and only a passphrase typed by a person clears it (``unlock``).
* ``crypto_erase``: a panic wipe destroys the key slots, without which the data dir can never be
  decrypted again.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from device.errors import LockedError, WipedError, WrongKeyError
from device.fsutil import fsync_dir, write_atomic

log = logging.getLogger(__name__)

LOCKDOWN_FILE = "lockdown"
SYSTEM_ACTOR = "device"
SYSTEM_ROLE = "system"

# ---- sd_notify ----------------------------------------------------------------------------------


def notify(*fields: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``fields`` (``KEY=value``) to systemd; False, doing nothing, without ``$NOTIFY_SOCKET``."""
    env = os.environ if env is None else env
    address = env.get("NOTIFY_SOCKET", "")
    if not address or not fields:
        return False
    if address.startswith("@"):  # an abstract socket: the name starts with a NUL byte
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.sendto("\n".join(fields).encode(), address)
        except OSError as exc:  # systemd going away must never take the service down with it
            log.warning("sd_notify to %s failed: %s", address, exc)
            return False
    return True


def ready(status_text: str = "", env: Mapping[str, str] | None = None) -> bool:
    return notify("READY=1", *([f"STATUS={status_text}"] if status_text else []), env=env)


def status(text: str, env: Mapping[str, str] | None = None) -> bool:
    return notify(f"STATUS={text}", env=env)


def watchdog_ping(env: Mapping[str, str] | None = None) -> bool:
    return notify("WATCHDOG=1", env=env)


def stopping(env: Mapping[str, str] | None = None) -> bool:
    return notify("STOPPING=1", env=env)


def watchdog_interval(env: Mapping[str, str] | None = None) -> float | None:
    """Seconds between pings (half of ``WatchdogSec=``), or None when no watchdog is asked for
    this process (``$WATCHDOG_PID`` names another one, e.g. the gunicorn master)."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC", "")
    pid = env.get("WATCHDOG_PID", "")
    if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2e6


# ---- signals -----------------------------------------------------------------------------------


def stop_on_signals(stop: threading.Event, signals=(signal.SIGTERM, signal.SIGINT)) -> Callable[[], None]:
    """The given signals set ``stop``; returns a function that restores the old handlers."""
    reader, writer = socket.socketpair()
    writer.setblocking(False)

    def handler(signum, frame):
        try:
            writer.send(b"\0")
        except OSError:  # the pair is full or closed: a stop is already on its way
            pass

    def watch():
        try:
            if reader.recv(1):
                stop.set()
        except OSError:
            pass

    old = {sig: signal.signal(sig, handler) for sig in signals}
    threading.Thread(target=watch, name="signal-watch", daemon=True).start()

    def restore():
        for sig, previous in old.items():
            signal.signal(sig, previous)
        writer.close()
        reader.close()

    return restore


# ---- the lockdown marker -------------------------------------------------------------------------


class Lockdown:
    """``<data dir>/lockdown``: present while the box is locked by tamper, panic or an operator."""

    def __init__(self, data_dir: Path):
        self.path = Path(data_dir) / LOCKDOWN_FILE

    def read(self) -> dict | None:
        try:
            return json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            # A damaged marker still means "locked": failing open would undo a tamper lock.
            return {"reason": "unknown", "at": "", "audited": False}

    @property
    def engaged(self) -> bool:
        return self.path.exists()

    def engage(self, reason: str, *, audited: bool = False) -> None:
        body = {"reason": reason, "at": _utc_now(), "audited": audited}
        write_atomic(self.path, json.dumps(body).encode(), mode=0o600)

    def mark_audited(self) -> None:
        current = self.read()
        if current is not None and not current.get("audited"):
            write_atomic(self.path, json.dumps({**current, "audited": True}).encode(), mode=0o600)

    def clear(self) -> None:
        if self.path.exists():
            self.path.unlink()
            fsync_dir(self.path.parent)


def _utc_now() -> str:
    from device.store.db import utc_now

    return utc_now()


# ---- the lock state of one process ---------------------------------------------------------------


class Appliance:
    """The store of this process, or nothing while the box is locked; every door asks it.

    ``unlock(passphrase)`` is what the touchscreen unlock screen calls; ``lock(reason)`` what the
    tamper switch and an operator call; ``follow_lockdown()`` is polled by each process to obey a
    lock made by another one.
    """

    def __init__(self, data_dir: Path, config, *, env: Mapping[str, str] | None = None):
        self.data_dir = Path(data_dir)
        self.config = config
        self.env = dict(os.environ if env is None else env)
        self.lockdown = Lockdown(self.data_dir)
        self._store = None
        self._mutex = threading.RLock()
        self._listeners: list[Callable[[object | None], None]] = []
        self.last_error = ""

    # -- state --
    @property
    def locked(self) -> bool:
        store = self._store
        return store is None or store.keyring.wiped

    @property
    def store(self):
        store = self._store
        if store is None or store.keyring.wiped:
            raise LockedError("the box is locked: type the passphrase on the unlock screen")
        return store

    def on_change(self, listener: Callable[[object | None], None]) -> None:
        """``listener(store_or_None)`` after every unlock and lock (the web app swaps its store)."""
        self._listeners.append(listener)

    def _set(self, store) -> None:
        self._store = store
        for listener in self._listeners:
            listener(store)

    # -- unlocking --
    def start(self, store=None) -> bool:
        """Unlock at boot, unless a lockdown is engaged or the unit unlocks by passphrase only."""
        if store is not None:
            self._set(store)
            return True
        if self.lockdown.engaged:
            self.last_error = f"locked ({(self.lockdown.read() or {}).get('reason', 'unknown')}): passphrase needed"
            return False
        if self.config.hooks.unlock == "passphrase":
            return False
        from device.keys import obtain_secret

        try:
            secret = obtain_secret(self.config.keys, self.env, interactive=False)
            self._open(secret, actor=SYSTEM_ACTOR, role=SYSTEM_ROLE)
        except (LockedError, WrongKeyError) as exc:
            # Not fatal: the unit then serves its unlock screen, and says why in its status.
            self.last_error = str(exc)
            log.warning("not unlocked at start: %s", exc)
            return False
        return True

    def unlock(self, passphrase: str | bytes, *, actor: str = "touchscreen", source: str = "passphrase"):
        """Unlock with a typed passphrase and end a lockdown; WrongKeyError (nothing changed) if it
        does not fit, WipedError after a panic wipe. Returns the unlocked store."""
        from device.keys import MasterSecret

        value = passphrase.encode("utf-8") if isinstance(passphrase, str) else bytes(passphrase)
        if not value:
            raise WrongKeyError("the passphrase is empty")
        return self._open(MasterSecret(value, source), actor=actor, role="operator", clears_lockdown=True)

    def _open(self, secret, *, actor: str, role: str, clears_lockdown: bool = False):
        from device.store import open_store

        with self._mutex:
            if not (self.data_dir / "keyslots").exists() and (self.data_dir / "wiped").exists():
                raise WipedError(f"{self.data_dir} was crypto-erased; it can never be unlocked again")
            store = open_store(self.data_dir, secret, self.config)
            marker = self.lockdown.read()
            if marker is not None and not clears_lockdown:
                store.lock()
                raise LockedError(f"locked ({marker.get('reason')}): only the passphrase unlocks it")
            if marker is not None:
                if not marker.get("audited"):
                    # The lock happened while no process held keys: record it now, late but signed.
                    late = {"locked_at": marker.get("at"), "recorded_late": True}
                    action = f"device.{marker.get('reason', 'lock')}"
                    self._record(store, action, actor=SYSTEM_ACTOR, role=SYSTEM_ROLE, details=late)
                self._record(store, "device.unlock", actor=actor, role=role,
                             details={"after": marker.get("reason"), "key_source": secret.source})  # fmt: skip
                self.lockdown.clear()
            self.last_error = ""
            self._set(store)
            return store

    # -- locking --
    def lock(self, reason: str = "operator", *, actor: str = SYSTEM_ACTOR) -> None:
        """Lock the whole box: the marker first (other processes follow within ``hooks.poll_s``),
        then the audit entry while this process still has keys, then drop them."""
        with self._mutex:
            self.lockdown.engage(reason, audited=False)
            store = self._store
            if store is not None and not store.keyring.wiped:
                action = "device.tamper" if reason == "tamper" else "device.lock"
                try:
                    self._record(store, action, actor=actor, role=SYSTEM_ROLE, details={"reason": reason})
                    self.lockdown.mark_audited()
                except Exception:  # a full disk must not keep the keys in memory
                    log.exception("could not audit the %s lock; it is recorded at the next unlock", reason)
            self._drop()

    def follow_lockdown(self) -> bool:
        """Drop our keys if another process locked the box; True when that just happened."""
        if self._store is not None and not self._store.keyring.wiped and self.lockdown.engaged:
            with self._mutex:
                self._drop()
            return True
        return False

    def _drop(self) -> None:
        store = self._store
        if store is not None:
            store.lock()
        self._set(None)

    def health(self) -> bool:
        """True when a query went through the encrypted store, or the box is (deliberately) locked."""
        store = self._store
        if store is None or store.keyring.wiped:
            return True
        try:
            # A new connection, not a pooled one: the file must still open with the key now.
            conn = store.connect()
            try:
                conn.execute("SELECT count(*) FROM meta").fetchone()
            finally:
                conn.close()
        except Exception:
            log.exception("health check: the store does not answer")
            return False
        return True

    # -- panic wipe --
    def wipe(self, *, actor: str = SYSTEM_ACTOR, upstream_timeout_s: float = 0.0,
             extra_files: Iterable[Path] = ()) -> dict:  # fmt: skip
        """Audit, give the sync service up to ``upstream_timeout_s`` to deliver that entry, lock,
        then crypto-erase. Returns what happened (for the log and the CLI)."""
        report = {"audited": False, "upstream": False}
        with self._mutex:
            store = self._store
            if store is not None and not store.keyring.wiped:
                try:
                    entry = self._record(store, "device.wipe", actor=actor, role=SYSTEM_ROLE, details={})
                    report["audited"] = True
                    if upstream_timeout_s > 0:
                        report["upstream"] = wait_acked(store, self.config.sync.destination, entry.seq,
                                                        upstream_timeout_s)  # fmt: skip
                except Exception:
                    log.exception("could not audit the panic wipe; erasing anyway")
            self.lockdown.engage("wipe", audited=report["audited"])
            self._drop()
            report["destroyed"] = [str(p) for p in crypto_erase(self.data_dir, extra_files)]
        return report

    @staticmethod
    def _record(store, action: str, *, actor: str, role: str, details: dict):
        from device.audit import AuditLog

        audit = AuditLog(store)
        try:
            return audit.record(action, actor=actor, role=role, object=f"data-dir:{store.data_dir}", details=details)
        finally:
            audit.close()


def wait_acked(store, destination: str, seq: int, timeout_s: float, poll_s: float = 0.2) -> bool:
    """True once the central receiver acknowledged audit entry ``seq`` (the sync cursor moved past it)."""
    from device.audit import AuditLog

    deadline = time.monotonic() + timeout_s
    audit = AuditLog(store)  # the one reader of the sync cursor
    while True:
        if audit.acked(destination)[0] >= seq:
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(poll_s)


def crypto_erase(data_dir: Path, extra_files: Iterable[Path] = ()) -> list[Path]:
    """Destroy the key slots (and the sealed credential): overwrite, fsync, unlink, fsync the folder.

    The root key exists nowhere else, so the database and caches can never be decrypted again,
    whatever secret is later found. Overwriting is for disks that overwrite in place; on flash the
    old blocks may survive in the controller, which is why the slot file holds the root key only
    wrapped under a key the attacker must still get from the TPM or a person.
    """
    data_dir = Path(data_dir)
    destroyed = []
    for path in [data_dir / "keyslots", *map(Path, extra_files)]:
        try:
            _destroy(path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            if path.name == "keyslots" and path.parent == data_dir:
                raise
            log.error("panic wipe: could not destroy %s: %s", path, exc.strerror)
            continue
        destroyed.append(path)
    # Says why the data dir no longer opens, instead of "not a data dir".
    write_atomic(data_dir / "wiped", f"crypto-erased at {_utc_now()}\n".encode(), mode=0o600)
    return destroyed


def _destroy(path: Path) -> None:
    size = path.stat().st_size
    with open(path, "r+b", buffering=0) as f:
        f.write(os.urandom(max(size, 1)))
        os.fsync(f.fileno())
    path.unlink()
    fsync_dir(path.parent)


def watch_lockdown(appliance: Appliance, stop: threading.Event, poll_s: float,
                   on_lock: Callable[[], None] | None = None) -> threading.Thread:  # fmt: skip
    """A thread that makes this process obey a lock made by another within ``poll_s``."""

    def run():
        while not stop.wait(poll_s):
            if appliance.follow_lockdown():
                log.warning("the box was locked by another process: keys dropped")
                if on_lock is not None:
                    on_lock()

    thread = threading.Thread(target=run, name="lockdown-watch", daemon=True)
    thread.start()
    return thread


def stop_on_lockdown(lockdown: Lockdown, stop: threading.Event, poll_s: float = 0.2) -> threading.Thread:
    """For a process that cannot drop its keys in place (sync holds a keyed connection and the
    signing key): set ``stop`` when the box is locked, so the process exits and its keys with it;
    its unit waits for an unlock before starting it again (``fieldface wait-unlocked``)."""

    def run():
        while not stop.wait(poll_s):
            if lockdown.engaged:
                log.warning("the box was locked: stopping so that this process's keys go with it")
                stop.set()

    thread = threading.Thread(target=run, name="lockdown-stop", daemon=True)
    thread.start()
    return thread


def lockdown_from_env(env: Mapping[str, str] | None = None) -> Lockdown | None:
    """The marker of ``$FIELDFACE_DATA_DIR`` (the units set it), None outside a unit."""
    env = os.environ if env is None else env
    return Lockdown(Path(env["FIELDFACE_DATA_DIR"])) if env.get("FIELDFACE_DATA_DIR") else None
