"""The hooks service end to end on a real store and mock pins: tamper, panic wipe, shutdown, LEDs, hooks."""

from __future__ import annotations

import threading
import time

import pytest

from device import service
from device.errors import StoreError
from device.keys import MasterSecret
from device.store import open_store
from firmware_hooks.daemon import HooksDaemon
from firmware_hooks.hookdirs import EventHooks
from firmware_hooks.leds import LedState
from tests.firmware_hooks.conftest import ClosedSwitchPin, write_hook


def _wait(predicate, timeout=2.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _actions(store):
    with store.connection() as conn:
        return [row[0] for row in conn.execute("SELECT action FROM audit_log ORDER BY seq")]


@pytest.fixture
def unit(tmp_path, store, hooks_config, key_file, factory):
    """A running hooks daemon and, beside it, the web process's view of the same box."""
    env = {"FIELDFACE_KEY_FILE": str(key_file)}
    commands = []
    daemon = HooksDaemon(
        service.Appliance(store.data_dir, hooks_config, env=env), hooks_config, runtime_dir=tmp_path / "run",
        factory=factory, hooks=EventHooks(hooks_config.hooks.dir, 5),
        run_command=lambda argv, **kw: commands.append(argv),
    )  # fmt: skip
    daemon.commands = commands
    web = service.Appliance(store.data_dir, hooks_config, env=env)
    assert web.start()
    stop = threading.Event()
    factory.pin(17, pin_class=ClosedSwitchPin)  # the case is closed when the service starts
    loop = threading.Thread(target=daemon.run, args=(stop,))
    loop.start()
    assert _wait(lambda: daemon.parts)
    watch = service.watch_lockdown(web, stop, hooks_config.hooks.poll_s)
    yield daemon, web
    stop.set()
    loop.join(5)
    watch.join(5)


def test_tamper_locks_every_process_within_a_second_and_is_audited(unit, factory, hooks_config, key_file):
    daemon, web = unit
    out = hooks_config.hooks.dir / "tamper.out"
    write_hook(hooks_config.hooks.dir, "tamper", "10-siren", f'echo "$FIELDFACE_REASON" > {out}')
    assert _wait(lambda: daemon.leds.state is LedState.READY)
    started = time.perf_counter()
    factory.pin(17).drive_high()  # the case opens
    assert _wait(lambda: web.locked, timeout=1.0)
    web_latency = time.perf_counter() - started
    assert daemon.appliance.locked and daemon.tamper_latency_s < 1.0 and web_latency < 1.0
    print(f"\ntamper lock latency: hooks process {daemon.tamper_latency_s * 1000:.1f} ms, "
          f"web process {web_latency * 1000:.1f} ms (poll {hooks_config.hooks.poll_s} s)")  # fmt: skip
    assert _wait(lambda: daemon.leds.state is LedState.LOCKED)
    assert factory.pin(5).state is True and factory.pin(6).state is False
    assert _wait(lambda: out.exists() and out.read_text() == "tamper\n")
    # Closing the case again does not unlock: a person must.
    factory.pin(17).drive_low()
    time.sleep(0.2)
    assert web.locked and daemon.appliance.locked
    store = web.unlock(key_file.read_bytes().strip(), actor="supervisor", source="key file")
    assert _actions(store)[-2:] == ["device.tamper", "device.unlock"]
    # The hooks service sees the unlock and takes its own keys from its credential again.
    assert _wait(lambda: not daemon.appliance.locked)
    assert _wait(lambda: daemon.leds.state is LedState.READY)


def test_panic_wipe_leaves_the_store_undecryptable(unit, factory, hooks_config, key_file, tmp_path):
    daemon, web = unit
    sealed = hooks_config.hooks.wipe_files[0]
    sealed.parent.mkdir()
    sealed.write_bytes(b"sealed credential")
    out = hooks_config.hooks.dir / "wipe.out"
    write_hook(hooks_config.hooks.dir, "wipe", "10-note", f"echo wiped > {out}")
    data_dir = daemon.appliance.data_dir
    factory.pin(27).drive_low()  # held down ...
    assert _wait(lambda: (data_dir / "wiped").exists(), timeout=3)  # written once the erase is done
    factory.pin(27).drive_high()
    assert not (data_dir / "keyslots").exists() and not sealed.exists()
    assert _wait(lambda: web.locked, timeout=1)
    with pytest.raises(StoreError):
        open_store(data_dir, MasterSecret(key_file.read_bytes().strip(), "key file"), hooks_config)
    assert _wait(lambda: out.exists())


def test_shutdown_button_runs_the_shutdown_command(unit, factory, hooks_config):
    daemon, _ = unit
    out = hooks_config.hooks.dir / "shutdown.out"
    write_hook(hooks_config.hooks.dir, "shutdown", "10-note", f"echo bye > {out}")
    factory.pin(22).drive_low()
    assert _wait(lambda: daemon.commands == [["systemctl", "poweroff"]])
    factory.pin(22).drive_high()
    assert out.read_text() == "bye\n"  # before the power goes


def test_sync_progress_fires_on_sync_ok_and_blinks_blue(unit, hooks_config, store):
    daemon, _ = unit
    out = hooks_config.hooks.dir / "sync.out"
    write_hook(hooks_config.hooks.dir, "sync-ok", "10-note", f'echo "$FIELDFACE_ACKED_SEQ" >> {out}')
    assert _wait(lambda: daemon.leds.state is LedState.READY)
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO audit_sync(destination, acked_seq, acked_hash, updated_at) VALUES ('central', 1, x'00', '')"
        )
    # SYNCING lasts SYNCING_FOR_S from when the daemon notices the cursor move: look for it first
    # (a loaded machine may run the hook script after that window has closed).
    assert _wait(lambda: daemon.leds.state is LedState.SYNCING)
    assert _wait(lambda: out.exists() and out.read_text() == "1\n")


def test_searching_and_error_states(unit, tmp_path, store):
    daemon, _ = unit
    activity = tmp_path / "run" / "activity"
    activity.mkdir(parents=True)
    (activity / "searching").touch()
    assert _wait(lambda: daemon.leds.state is LedState.SEARCHING)
    (activity / "searching").unlink()
    store.db_path.write_bytes(b"\0" * 4096)  # the store stops answering
    assert _wait(lambda: daemon.leds.state is LedState.ERROR)


def test_ready_and_watchdog_go_to_systemd(tmp_path, store, hooks_config, key_file, factory, monkeypatch):
    import socket

    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    sock.settimeout(2)
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
    factory.pin(17, pin_class=ClosedSwitchPin)
    daemon = HooksDaemon(service.Appliance(store.data_dir, hooks_config, env={"FIELDFACE_KEY_FILE": str(key_file)}),
                         hooks_config, runtime_dir=tmp_path / "run", factory=factory)  # fmt: skip
    stop = threading.Event()
    threading.Timer(0.3, stop.set).start()
    assert daemon.run(stop) == 0
    got = []
    while True:
        try:
            got.append(sock.recv(200).decode())
        except TimeoutError:
            break
        sock.settimeout(0.1)
    sock.close()
    # The first watchdog ping comes after a query went through, before READY; READY once unlocked.
    assert "READY=1\nSTATUS=watching" in got and got.count("WATCHDOG=1") >= 2 and got[-1] == "STOPPING=1"
