"""kill -9 of the web (real gunicorn) and sync processes: the next start serves, opens, verifies
and picks up where the killed one stopped. The whole process group is killed, as systemd does
with the unit's cgroup when its main process dies."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading

from device.audit import AuditLog, verify_store
from device.audit.signing import parse_public_key
from device.store import open_store
from tests.conftest import REPO
from tests.processes import free_port, wait_http
from tests.sync.conftest import assert_delivered, fill, make_config, wait_for
from tests.sync.test_faults import cli, write_toml


def _verified(data_dir, secret, config) -> int:
    store = open_store(data_dir, secret, config)
    assert store.check_integrity() == []
    audit = AuditLog(store)
    try:
        report = verify_store(audit, parse_public_key(audit.signer.public_key_hex))
    finally:
        audit.close()
        store.lock()
    assert report.ok, report.problems
    return report.head_seq


def _serve(data_dir, port, env):
    return subprocess.Popen(
        [sys.executable, "-m", "device.cli", "--data-dir", str(data_dir), "serve", "--bind", f"127.0.0.1:{port}"],
        env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def _kill9(proc) -> None:
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=20)
    proc.stderr.close()


def test_web_restarts_cleanly_after_kill_9(tmp_path, key_file, fast_config_file, fast_config, secret, run_cli):
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDFACE_")}
    env.update(FIELDFACE_CONFIG=str(fast_config_file), FIELDFACE_KEY_FILE=str(key_file))
    data_dir = tmp_path / "d"
    assert run_cli("--data-dir", str(data_dir), "init", env=env).returncode == 0
    port = free_port()
    proc = _serve(data_dir, port, env)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc)
        # Killed while another process of the unit writes to the same store, as on a busy box.
        store = open_store(data_dir, secret, fast_config)
        audit, stop = AuditLog(store), threading.Event()

        def writer():
            while not stop.is_set():
                audit.record("gallery.view", actor="alice", role="examiner")

        thread = threading.Thread(target=writer)
        thread.start()
        for _ in range(5):
            wait_http(f"http://127.0.0.1:{port}/healthz", proc)
        _kill9(proc)
        stop.set()
        thread.join()
        audit.close()
        proc = _serve(data_dir, port, env)  # the same port: gunicorn re-binds at once (SO_REUSEADDR)
        body = json.loads(wait_http(f"http://127.0.0.1:{port}/healthz", proc))
        assert body["status"] == "ok" and body["device_id"]
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            proc.stderr.close()
    assert proc.returncode == 0
    assert _verified(data_dir, secret, fast_config) > 1


def test_sync_resumes_after_kill_9(tmp_path, pki, broker, audit, registry, services, key_file, secret, fast_config):
    cfg = make_config(pki, broker.port, tmp_path=tmp_path)
    write_toml(tmp_path / "device.toml", cfg)
    services("receiver", cfg)
    env = {"FIELDFACE_KEY_FILE": str(key_file), "FIELDFACE_DATA_DIR": str(audit._store.data_dir)}
    fill(audit, 300)
    daemon = cli(tmp_path / "device.toml", "sync", env=env, start_new_session=True)
    try:
        wait_for(lambda: audit.acked("central")[0] > 0, 30, "the first acknowledgement")
        _kill9(daemon)  # most likely mid-stream: 300 entries go in batches of 100, 4 in flight
        daemon.stdout.close()
        fill(audit, 20, start=300)
        daemon = cli(tmp_path / "device.toml", "sync", env=env, start_new_session=True)
        wait_for(lambda: audit.acked("central")[0] == 320, 30, "sync resuming after kill -9")
    finally:
        if daemon.poll() is None:
            daemon.send_signal(signal.SIGTERM)
            _, err = daemon.communicate(timeout=20)
            assert daemon.returncode == 0, err
    assert_delivered(tmp_path, audit)  # nothing lost, nothing twice, chain intact
    assert _verified(audit._store.data_dir, secret, fast_config) == 320
