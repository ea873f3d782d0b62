"""Running fieldface as a user does, in other processes: a served unit, a terminal with prompts."""

from __future__ import annotations

import contextlib
import os
import pty
import select
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any FIELDFACE_* or systemd credential, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDFACE_") and k != "CREDENTIALS_DIRECTORY"}
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, proc: subprocess.Popen, timeout: float = 60) -> bytes:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"server exited with {proc.returncode}: {proc.stderr.read()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as r:  # noqa: S310 - loopback only
                return r.read()
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout}s")


@contextlib.contextmanager
def serving(args: list[str], env: dict[str, str], timeout: float = 120) -> Iterator[tuple[str, subprocess.Popen]]:
    """``fieldface ARGS --bind 127.0.0.1:PORT`` (serve or demo) until /healthz answers; yields
    (base URL, process) and stops it with SIGTERM afterwards."""
    port = free_port()
    argv = [sys.executable, "-m", "device.cli", *args, "--bind", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc, timeout=timeout)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=30)
        proc.stderr.close()


def run_in_terminal(argv, answers, env, prompts=(b"passphrase: ",), timeout=60) -> tuple[int, str]:
    """``fieldface ARGV`` on a pseudo-terminal (so getpass prompts), typing each answer once its
    prompt shows: getpass flushes input typed earlier. Returns (exit code, what the screen showed)."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        os.chdir(REPO)
        full = [sys.executable, "-m", "device.cli", *argv]
        os.execve(sys.executable, full, env)  # noqa: S606 - fixed argv, no shell
    output, pending, given = b"", list(answers), 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            output += chunk
            if pending and sum(output.count(p) for p in prompts) > given:
                os.write(fd, pending.pop(0).encode() + b"\n")
                given += 1
    finally:
        if time.monotonic() >= deadline:
            os.kill(pid, 9)
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode(errors="replace")
