"""A throwaway PostgreSQL server from Debian's ``postgresql`` package, on a free loopback port."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from tests.sync.broker import free_port, wait_for_port


def postgres_bin() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return Path(found[-1]).parent if found else None


class Postgres:
    def __init__(self, bindir: Path, settings: dict[str, str] | None = None, folder: Path | None = None):
        """``folder``: a cluster kept there (made on first start, never removed: scripts/bench_console.py
        loads 20 M rows once); default a throwaway one under /tmp."""
        self.bindir = bindir
        self.settings = {"fsync": "on", **(settings or {})}  # scripts/bench_console.py sizes memory
        # Under /tmp, not pytest's 0700 tmp dir: the server runs as 'postgres' when we are root.
        self.keep = folder is not None
        self.folder = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="fieldface-pg-"))
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            shutil.chown(self.folder, "postgres", "postgres")

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        data = self.folder / "data"
        if not (data / "PG_VERSION").exists():
            subprocess.run([*self._as, str(self.bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"],
                           check=True, capture_output=True, timeout=120)  # fmt: skip
        self.proc = subprocess.Popen(
            [*self._as, str(self.bindir / "postgres"), "-D", str(data), "-k", str(self.folder),
             "-h", "127.0.0.1", "-p", str(self.port), *(f"-c{k}={v}" for k, v in self.settings.items())],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        wait_for_port(self.port, timeout=30)
        # An open port is not a server ready for connections ("the database system is starting up"
        # on a loaded machine): ask it, as a client would.
        deadline = time.monotonic() + 60
        while subprocess.run([str(self.bindir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
                             check=False, timeout=30).returncode != 0:  # fmt: skip
            if time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL on port {self.port} did not accept connections within 60 s")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            # A "fast" shutdown: connections still open (a failed run's) are ended, the cluster is
            # left clean (a kept one starts again without recovery).
            subprocess.run([*self._as, str(self.bindir / "pg_ctl"), "-D", str(self.folder / "data"), "stop",
                            "-m", "fast", "-w", "-t", "60"], check=False, capture_output=True, timeout=90)  # fmt: skip
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if not self.keep:
            shutil.rmtree(self.folder, ignore_errors=True)
