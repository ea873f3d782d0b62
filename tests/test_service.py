"""device.service: sd_notify on a real Unix socket, signals, and the box's lock state on real stores."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time

import pytest

from device import service
from device.audit import AuditLog, verify_store
from device.errors import LockedError, StoreError, WipedError, WrongKeyError
from device.keys import MasterSecret
from device.store import open_store


@pytest.fixture
def notify_socket(tmp_path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    path = tmp_path / "notify"
    sock.bind(str(path))
    sock.settimeout(2)
    yield sock, {"NOTIFY_SOCKET": str(path)}
    sock.close()


def test_ready_status_and_watchdog_reach_the_socket(notify_socket):
    sock, env = notify_socket
    assert service.ready("serving", env=env)
    assert sock.recv(4096) == b"READY=1\nSTATUS=serving"
    assert service.watchdog_ping(env=env)
    assert sock.recv(4096) == b"WATCHDOG=1"
    assert service.status("locked", env=env)
    assert sock.recv(4096) == b"STATUS=locked"
    assert service.stopping(env=env)
    assert sock.recv(4096) == b"STOPPING=1"


def test_abstract_socket_name(tmp_path):
    name = f"fieldface-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.settimeout(2)
        assert service.ready(env={"NOTIFY_SOCKET": "@" + name})
        assert sock.recv(100) == b"READY=1"


def test_without_notify_socket_nothing_is_sent():
    assert service.ready(env={}) is False
    assert service.watchdog_ping(env={}) is False


def test_a_vanished_socket_is_logged_not_raised(tmp_path):
    assert service.ready(env={"NOTIFY_SOCKET": str(tmp_path / "gone")}) is False


def test_watchdog_interval_is_half_of_watchdog_sec_and_only_for_the_named_pid():
    assert service.watchdog_interval({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert service.watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": str(os.getpid())}) == 15.0
    assert service.watchdog_interval({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    assert service.watchdog_interval({}) is None


def test_sigterm_sets_the_stop_event():
    stop = threading.Event()
    restore = service.stop_on_signals(stop)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        assert stop.wait(2)
    finally:
        restore()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


# ---- lock state ---------------------------------------------------------------------------------


def _passphrase_store(tmp_path, fast_config, passphrase: str = "correct horse battery"):  # noqa: S107
    from device.store import init_data_dir

    store = init_data_dir(tmp_path / "pdata", MasterSecret(passphrase.encode(), "passphrase"), fast_config)
    store.lock()
    return tmp_path / "pdata"


def _actions(store):
    with store.connection() as conn:
        return [row[0] for row in conn.execute("SELECT action FROM audit_log ORDER BY seq")]


def test_unlock_with_a_passphrase_and_a_wrong_one(tmp_path, fast_config):
    data_dir = _passphrase_store(tmp_path, fast_config)
    appliance = service.Appliance(data_dir, fast_config.model_copy(update={"hooks": fast_config.hooks.model_copy(
        update={"unlock": "passphrase"})}), env={})  # fmt: skip
    assert appliance.start() is False and appliance.locked
    with pytest.raises(LockedError):
        _ = appliance.store
    with pytest.raises(WrongKeyError):
        appliance.unlock("not the passphrase")
    assert appliance.locked
    store = appliance.unlock("correct horse battery")
    assert not appliance.locked and appliance.store is store
    assert store.keyring.source == "passphrase"


def test_lock_drops_keys_audits_and_survives_restart(tmp_path, store, fast_config, key_file):
    env = {"FIELDFACE_KEY_FILE": str(key_file)}
    appliance = service.Appliance(store.data_dir, fast_config, env=env)
    assert appliance.start()
    seen = []
    appliance.on_change(seen.append)
    appliance.lock("tamper")
    assert appliance.locked and seen == [None]
    marker = appliance.lockdown.read()
    assert marker["reason"] == "tamper" and marker["audited"] is True
    # A restarted process must not unlock itself from the key file while the lockdown holds.
    again = service.Appliance(store.data_dir, fast_config, env=env)
    assert again.start() is False and "tamper" in again.last_error
    unlocked = again.unlock(key_file.read_bytes().rstrip(b"\n"), actor="tester", source="key file")
    assert not again.lockdown.engaged
    assert _actions(unlocked)[-2:] == ["device.tamper", "device.unlock"]
    log = AuditLog(unlocked)
    try:
        assert verify_store(log, log.signer._key.public_key()).ok
    finally:
        log.close()


def test_a_lock_made_without_keys_is_audited_at_the_next_unlock(tmp_path, store, fast_config, key_file):
    service.Appliance(store.data_dir, fast_config, env={}).lock("tamper")  # no keys in this process
    assert service.Lockdown(store.data_dir).read()["audited"] is False
    unlocked = service.Appliance(store.data_dir, fast_config, env={}).unlock(key_file.read_bytes().strip())
    with unlocked.connection() as conn:
        rows = conn.execute("SELECT action, body FROM audit_log ORDER BY seq DESC LIMIT 2").fetchall()
    assert [r[0] for r in rows] == ["device.unlock", "device.tamper"]
    assert '"recorded_late":true' in rows[1][1].replace(" ", "")


def test_other_processes_follow_a_lock_within_a_second(store, fast_config, key_file):
    env = {"FIELDFACE_KEY_FILE": str(key_file)}
    web, hooks = (service.Appliance(store.data_dir, fast_config, env=env) for _ in range(2))
    assert web.start() and hooks.start()
    stop = threading.Event()
    dropped = threading.Event()
    service.watch_lockdown(web, stop, poll_s=0.05, on_lock=dropped.set)
    try:
        started = time.perf_counter()
        hooks.lock("tamper")
        assert dropped.wait(1.0)
        latency = time.perf_counter() - started
    finally:
        stop.set()
    assert web.locked and latency < 1.0
    with pytest.raises(LockedError):
        web.store  # noqa: B018 - the property is the check


def test_stop_on_lockdown_stops_a_process_that_cannot_drop_keys(store):
    lockdown = service.Lockdown(store.data_dir)
    stop = threading.Event()
    service.stop_on_lockdown(lockdown, stop, poll_s=0.05)
    lockdown.engage("operator")
    assert stop.wait(1.0)
    assert service.lockdown_from_env({"FIELDFACE_DATA_DIR": str(store.data_dir)}).engaged
    assert service.lockdown_from_env({}) is None


def test_damaged_marker_still_means_locked(store):
    lockdown = service.Lockdown(store.data_dir)
    lockdown.path.write_text("{not json")
    assert lockdown.engaged and lockdown.read()["reason"] == "unknown"


def test_panic_wipe_makes_the_store_undecryptable(store, fast_config, key_file):
    secret = MasterSecret(key_file.read_bytes().strip(), "key file")
    appliance = service.Appliance(store.data_dir, fast_config, env={"FIELDFACE_KEY_FILE": str(key_file)})
    appliance.start()
    keyslots = (store.data_dir / "keyslots").read_bytes()
    sealed = store.data_dir.parent / "sealed-credential"
    sealed.write_bytes(b"sealed")
    report = appliance.wipe(extra_files=[sealed])
    assert report["audited"] and not report["upstream"]
    assert not (store.data_dir / "keyslots").exists() and not sealed.exists()
    assert appliance.locked
    with pytest.raises(StoreError):
        open_store(store.data_dir, secret, fast_config)
    with pytest.raises(WipedError):
        service.Appliance(store.data_dir, fast_config, env={}).unlock(secret.value)
    # No file left in the data dir holds the wrapped root key.
    for path in store.data_dir.rglob("*"):
        if path.is_file():
            assert keyslots not in path.read_bytes()


def test_wipe_waits_for_the_upstream_ack(store, fast_config, key_file):
    appliance = service.Appliance(store.data_dir, fast_config, env={"FIELDFACE_KEY_FILE": str(key_file)})
    appliance.start()

    def receiver_acks():  # stands in for the sync service: moves the cursor once the entry exists
        time.sleep(0.3)
        with store.transaction() as conn:
            seq = conn.execute("SELECT max(seq) FROM audit_log").fetchone()[0]
            conn.execute(
                "INSERT INTO audit_sync(destination, acked_seq, acked_hash, updated_at) VALUES (?, ?, x'00', '')",
                (fast_config.sync.destination, seq),
            )

    # The receiver thread uses its own Store on the same keys (the wipe drops the appliance's).
    ack = threading.Thread(target=receiver_acks)
    ack.start()
    started = time.monotonic()
    report = appliance.wipe(upstream_timeout_s=5)
    ack.join()
    assert report["upstream"] and time.monotonic() - started < 5


def test_health_queries_the_store(store, fast_config):
    appliance = service.Appliance(store.data_dir, fast_config, env={})
    appliance.start(store)
    assert appliance.health()
    store.db_path.write_bytes(b"garbage" * 100)
    assert appliance.health() is False
