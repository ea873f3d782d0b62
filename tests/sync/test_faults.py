"""Receiver restarts, duplicates, forgeries and wrong certificates against a real mosquitto."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

from device.audit.entry import digest
from device.sync.mqtt import connect_async, make_client
from device.sync.protocol import Batch, Heartbeat, entries_topic, status_topic
from tests.sync.broker import PREFIX
from tests.sync.conftest import (
    DEVICE,
    RECEIVER,
    assert_delivered,
    central_env,
    central_rows,
    fill,
    make_config,
    wait_for,
)


def write_toml(path, cfg) -> None:
    """The parts of a Config the CLI needs, as TOML."""

    def section(name, model):
        lines = [f"[{name}]"]
        for key, value in model.model_dump(mode="json").items():
            if not isinstance(value, dict) and value is not None:
                lines.append(f"{key} = {value!r}".replace("'", '"').replace("True", "true").replace("False", "false"))
        return lines

    out = section("keys", cfg.keys) + section("sync", cfg.sync) + section("sync.broker", cfg.sync.broker)
    out += section("receiver", cfg.receiver) + section("receiver.broker", cfg.receiver.broker)
    out += section("central", cfg.central)
    path.write_text("\n".join(out) + "\n")


def cli(config_path, *args, env=None, **kwargs):
    full = {k: v for k, v in os.environ.items() if not k.startswith("FIELDFACE_")}
    full.update({"FIELDFACE_CONFIG": str(config_path), **(env or {})})
    return subprocess.Popen([sys.executable, "-m", "device.cli", *args], env=full, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kwargs)  # fmt: skip


def state(payload: bytes) -> str:
    return Heartbeat.decode(payload).state


def raw_client(pki, port, who):
    """A bare MQTT client with ``who``'s certificate: what a thief of that certificate could do."""
    cfg = make_config(pki, port, who).sync.broker
    client = make_client(f"raw-{who}-{os.getpid()}", cfg)
    connected = threading.Event()
    client.on_connect = lambda c, u, f, rc, p: connected.set() if not rc.is_failure else None
    connect_async(client, cfg)
    client.loop_start()
    return client, connected


def test_receiver_killed_and_restarted_mid_stream(tmp_path, pki, broker, audit, registry, services):
    cfg = make_config(pki, broker.port, tmp_path=tmp_path)
    write_toml(tmp_path / "central.toml", cfg)
    receiver = cli(tmp_path / "central.toml", "audit", "receive", env=central_env(tmp_path))
    try:
        services("publisher", audit, cfg.sync)
        writer = threading.Thread(target=fill, args=(audit, 600))
        writer.start()
        wait_for(lambda: audit.acked("central")[0] >= 100, 30, "first acks")
        receiver.send_signal(signal.SIGKILL)
        receiver.communicate(timeout=10)
        writer.join(60)
        receiver = cli(tmp_path / "central.toml", "audit", "receive", env=central_env(tmp_path))
        # Entries written after the restart: their acks can only come from the new receiver (the
        # first may have acked all 600 before it was killed), so it is up before we stop it.
        fill(audit, 50, start=600)
        wait_for(lambda: audit.acked("central")[0] == 650, 60, "all 650 acked after the receiver restart")
    finally:
        receiver.terminate()
        _, err = receiver.communicate(timeout=20)
    assert receiver.returncode == 0, err
    assert_delivered(tmp_path, audit)


def test_duplicate_delivery_and_a_forged_entry(tmp_path, pki, broker, audit, registry, services):
    cfg = make_config(pki, broker.port, tmp_path=tmp_path)
    fill(audit, 30)
    services("receiver", cfg)
    entries = audit.entries()
    honest = Batch(DEVICE, entries[:10], 10, entries[9].hash, audit.signer.sign_head(10, entries[9].hash))
    body = {**entries[10].body(), "actor": "mallory"}
    forged_entry = type(entries[10]).from_body(body, digest(body))
    forged = Batch(DEVICE, [forged_entry], 11, forged_entry.hash, "00" * 64)
    client, connected = raw_client(pki, broker.port, DEVICE)
    try:
        wait_for(connected.is_set, 10, "raw client connected")
        for payload in (honest.encode(), honest.encode(), forged.encode(), honest.encode()):
            client.publish(entries_topic(PREFIX, DEVICE), payload, qos=1).wait_for_publish(10)
        wait_for(lambda: len(central_rows(tmp_path)[2]) >= 1, 10, "the forged batch's rejection")
    finally:
        client.disconnect()
        client.loop_stop()
    pub = services("publisher", audit, cfg.sync)
    wait_for(lambda: audit.acked("central")[0] == 30, 30, "the honest device delivers everything")
    pub.stop()
    assert_delivered(tmp_path, audit)  # nothing twice, nothing forged stored
    assert [(k, s) for _d, k, s, _t in central_rows(tmp_path)[2]] == [("bad-signature", 11)]


def test_wrong_certificate_unknown_device_and_foreign_topic(tmp_path, pki, broker, audit, registry, services):
    cfg = make_config(pki, broker.port, tmp_path=tmp_path)
    services("receiver", cfg)
    fill(audit, 3)
    entries = audit.entries()
    payload = Batch(DEVICE, entries, 3, entries[-1].hash, audit.signer.sign_head(3, entries[-1].hash)).encode()
    # A certificate from another CA: the TLS handshake fails, the client never connects.
    rogue, rogue_connected = raw_client(pki, broker.port, "rogue")
    # unit-b holds a valid certificate but is not in the registry, and may not use test-unit's topic.
    other, other_connected = raw_client(pki, broker.port, "unit-b")
    try:
        wait_for(other_connected.is_set, 10, "unit-b connected")
        denied = other.publish(entries_topic(PREFIX, DEVICE), payload, qos=1)
        denied.wait_for_publish(10)
        other.publish(entries_topic(PREFIX, "unit-b"), payload, qos=1).wait_for_publish(10)
        wait_for(lambda: central_rows(tmp_path, "unit-b")[2], 10, "unit-b's rejection")
        assert not rogue_connected.is_set()
    finally:
        for client in (rogue, other):
            client.disconnect()
            client.loop_stop()
    rows, _head, rejects = central_rows(tmp_path)
    assert rows == []  # nothing from unit-b landed under test-unit's name
    assert [(d, k) for d, k, _s, _t in rejects] == [("unit-b", "unknown-device")]


def test_sync_cli_once_and_clean_stop_on_sigterm(tmp_path, pki, broker, audit, registry, services, key_file):
    cfg = make_config(pki, broker.port, tmp_path=tmp_path)
    write_toml(tmp_path / "device.toml", cfg)
    fill(audit, 120)
    env = {"FIELDFACE_KEY_FILE": str(key_file), "FIELDFACE_DATA_DIR": str(audit._store.data_dir)}
    once = cli(tmp_path / "device.toml", "sync", "--once", "--timeout", "5", env=env)
    _, err = once.communicate(timeout=30)
    assert once.returncode == 7 and "acknowledged seq 0 of 120" in err  # no receiver yet: honest failure
    services("receiver", cfg)
    once = cli(tmp_path / "device.toml", "sync", "--once", "--timeout", "30", env=env)
    _, err = once.communicate(timeout=60)
    assert once.returncode == 0, err
    assert audit.acked("central")[0] == 120

    statuses = []
    watcher, watcher_connected = raw_client(pki, broker.port, RECEIVER)
    watcher.on_message = lambda c, u, m: statuses.append(m.payload)
    try:
        wait_for(watcher_connected.is_set, 10, "watcher connected")
        watcher.subscribe(status_topic(PREFIX, DEVICE), qos=1)
        daemon = cli(tmp_path / "device.toml", "sync", env=env)
        wait_for(lambda: statuses and state(statuses[-1]) == "online", 20, "online status")
        fill(audit, 5, start=120)
        wait_for(lambda: audit.acked("central")[0] == 125, 20, "long-lived sync delivers new entries")
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=20)
        assert daemon.returncode == 0, err
        wait_for(lambda: state(statuses[-1]) == "offline", 10, "retained offline status after a clean stop")
    finally:
        watcher.disconnect()
        watcher.loop_stop()
    assert_delivered(tmp_path, audit)


def test_last_will_marks_a_crashed_device_offline(tmp_path, pki, broker, audit, key_file):
    cfg = make_config(pki, broker.port, tmp_path=tmp_path)
    write_toml(tmp_path / "device.toml", cfg)
    env = {"FIELDFACE_KEY_FILE": str(key_file), "FIELDFACE_DATA_DIR": str(audit._store.data_dir)}
    statuses = []
    watcher, watcher_connected = raw_client(pki, broker.port, RECEIVER)
    watcher.on_message = lambda c, u, m: statuses.append(m.payload)
    daemon = cli(tmp_path / "device.toml", "sync", env=env)
    try:
        wait_for(watcher_connected.is_set, 10, "watcher connected")
        watcher.subscribe(status_topic(PREFIX, DEVICE), qos=1)
        wait_for(lambda: statuses and state(statuses[-1]) == "online", 20, "online status")
        daemon.send_signal(signal.SIGKILL)
        daemon.communicate(timeout=10)
        wait_for(lambda: state(statuses[-1]) == "offline", 30, "the will's offline status")
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.communicate(timeout=10)
        watcher.disconnect()
        watcher.loop_stop()
