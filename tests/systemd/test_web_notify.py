"""``fieldface serve --unlock-screen`` as its unit runs it: locked start, unlock screen, READY only
after the passphrase, watchdog pings from the health loop, and a lock from another process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from device.keys import MasterSecret
from device.store import init_data_dir

PASSPHRASE = "a long enough test passphrase"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


OPENER = urllib.request.build_opener(_NoRedirect)


def _get(url, data=None):
    try:
        with OPENER.open(url, data=data, timeout=5) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def _messages(sock, until, timeout=20.0):
    got = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            got.append(sock.recv(4096).decode())
        except TimeoutError:
            break
        if until(got):
            break
    return got


@pytest.fixture
def locked_unit(tmp_path, fast_config, fast_config_file):
    data_dir = tmp_path / "data"
    init_data_dir(data_dir, MasterSecret(PASSPHRASE.encode(), "passphrase"), fast_config).lock()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(tmp_path / "notify"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FIELDFACE_", "NOTIFY_", "WATCHDOG_"))}
    env.update(FIELDFACE_CONFIG=str(fast_config_file), FIELDFACE_DATA_DIR=str(data_dir),
               NOTIFY_SOCKET=str(tmp_path / "notify"), WATCHDOG_USEC="400000", WATCHDOG_PID="1")  # fmt: skip
    log = (tmp_path / "serve.log").open("wb")
    argv = [sys.executable, "-m", "device.cli", "serve", "--unlock-screen", "--bind", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=log)
    yield proc, sock, f"http://127.0.0.1:{port}", env
    proc.send_signal(signal.SIGTERM)
    proc.wait(15)
    log.close()
    sock.close()


def test_locked_start_unlock_ready_watchdog_and_lock(locked_unit, fast_config_file):
    _proc, sock, base, env = locked_unit
    got = _messages(sock, lambda g: any(m.startswith("STATUS=locked") for m in g))
    assert any(m.startswith("STATUS=locked") for m in got), got
    assert not any("READY=1" in m for m in got)
    # Locked: every page leads to the unlock screen, the health check says so.
    status, headers, _ = _get(base + "/")
    assert status == 302 and headers["Location"].endswith("/unlock")
    assert _get(base + "/healthz")[0] == 503
    status, _, body = _get(base + "/unlock")
    assert status == 200 and b"This unit is locked" in body
    wrong = _get(base + "/unlock", urllib.parse.urlencode({"passphrase": "wrong guess"}).encode())
    assert wrong[0] == 403 and b"does not unlock" in wrong[2]
    right = _get(base + "/unlock", urllib.parse.urlencode({"passphrase": PASSPHRASE}).encode())
    assert right[0] == 302
    got = _messages(sock, lambda g: any("READY=1" in m for m in g) and g.count("WATCHDOG=1") >= 2)
    assert any(m.startswith("READY=1") for m in got) and got.count("WATCHDOG=1") >= 2
    assert _get(base + "/healthz")[0] == 200
    # Another process locks the box (what the tamper switch does): the web follows within a second.
    started = time.monotonic()
    lock = subprocess.run([sys.executable, "-m", "device.cli", "lock", "--reason", "tamper"], env=env,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert lock.returncode == 0, lock.stderr
    while _get(base + "/healthz")[0] != 503:
        assert time.monotonic() - started < 5
        time.sleep(0.05)
    status, _, body = _get(base + "/unlock")
    assert b"The case was opened" in body
