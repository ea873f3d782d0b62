"""A real mosquitto on 127.0.0.1 run from the documented configuration (docs/broker/: TLS client
certificates, per-unit and per-receiver ACL, persistence, queue limits), and a TCP proxy that can
cut every connection through it. Both are started and cleaned up by the tests."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
PREFIX = "fieldface/audit"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "broker"
# The receivers' certificate names in the documented ACL (docs/broker/acl).
RECEIVERS = ("central-receiver-1", "central-receiver-2")


def documented_config(folder: Path, port: int, ca_file: Path, cert_file: Path, key_file: Path) -> str:
    """docs/broker/mosquitto.conf as documented, with only its paths and port changed."""
    text = (DOCS / "mosquitto.conf").read_text()
    for old, new in {
        "/var/lib/mosquitto/": f"{folder / 'data'}/",
        "/etc/mosquitto/fieldface/acl": str(DOCS / "acl"),
        "/etc/mosquitto/fieldface/ca.pem": str(ca_file),
        "/etc/mosquitto/fieldface/server.pem": str(cert_file),
        "/etc/mosquitto/fieldface/server.key": str(key_file),
        "/var/log/mosquitto/fieldface.log": str(folder / "mosquitto.log"),
        "listener 8883": f"listener {port} 127.0.0.1",
    }.items():
        assert old in text, f"docs/broker/mosquitto.conf no longer says {old!r}"
        text = text.replace(old, new)
    # As root mosquitto drops to the 'mosquitto' user, which cannot read the test's files.
    return ("user root\n" if os.geteuid() == 0 else "") + text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


class Broker:
    def __init__(self, folder: Path, ca_file: Path, cert_file: Path, key_file: Path):
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        (folder / "data").mkdir(exist_ok=True)
        (folder / "mosquitto.conf").write_text(documented_config(folder, self.port, ca_file, cert_file, key_file))

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.folder / "mosquitto.conf")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(self.port)
        except TimeoutError:
            self.kill()
            raise RuntimeError(
                f"mosquitto did not start: {(self.folder / 'mosquitto.log').read_text()[-2000:]}"
            ) from None

    def kill(self) -> None:
        """SIGKILL: the harshest restart, nothing flushed."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


class CuttingProxy:
    """127.0.0.1:port -> upstream; ``cut()`` drops every open connection mid-stream."""

    def __init__(self, upstream_port: int):
        self.upstream = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        self.cuts = 0
        threading.Thread(target=self._accept, daemon=True, name="proxy-accept").start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self) -> None:
        with self._lock:
            victims, self._open = self._open, []
        for s in victims:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()
        self.cuts += 1

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        self.cut()
