"""A real headless Chromium (Debian's), driven by Playwright, against a real gunicorn server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.web.test_status import free_port, wait_http

CHROMIUM = Path("/usr/bin/chromium")
# The closed network refuses Chromium's background connections; these keep it quiet and fast.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: scripts/setup --test installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def served_unit(tmp_path, key_file, fast_config_file, run_cli):
    """``fieldface serve`` on a fresh data dir; yields the base URL."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDFACE_")}
    env.update(FIELDFACE_CONFIG=str(fast_config_file), FIELDFACE_KEY_FILE=str(key_file))
    data = tmp_path / "data"
    assert run_cli("--data-dir", str(data), "init", "--device-id", "e2e-unit", env=env).returncode == 0
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "device.cli", "--data-dir", str(data), "serve", "--bind", f"127.0.0.1:{port}"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        proc.stderr.close()
