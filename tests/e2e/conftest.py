"""A real headless Chromium (Debian's), driven by Playwright, against a real gunicorn server."""

from __future__ import annotations

from pathlib import Path

import pytest

from device.demo import DEMO_PASSWORD
from tests.processes import REPO, clean_env, serving

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = REPO / "test-artifacts" / "e2e"
TOUCHSCREEN = (800, 480)  # the official 7" Raspberry Pi display
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
    env = clean_env(FIELDFACE_CONFIG=str(fast_config_file), FIELDFACE_KEY_FILE=str(key_file))
    data = tmp_path / "data"
    assert run_cli("--data-dir", str(data), "init", "--device-id", "e2e-unit", env=env).returncode == 0
    with serving(["--data-dir", str(data), "serve"], env) as (base, _proc):
        yield base


@pytest.fixture
def demo_unit(tmp_path, fast_config_file):
    """``fieldface demo``: the README's main command, with its gallery and demo accounts."""
    env = clean_env(FIELDFACE_CONFIG=str(fast_config_file))
    with serving(["demo", "--dir", str(tmp_path / "demo")], env) as (base, _proc):
        yield base


def open_page(browser, errors: list, size: tuple[int, int] = TOUCHSCREEN):
    """A new browser context at ``size``; console errors (a CSP violation is one) go to ``errors``."""
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    page.on("console", lambda msg: msg.type == "error" and errors.append(msg.text))
    return context, page


def login(page, base: str, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(base + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/cases")


def first_screen(page, name: str) -> None:
    """What a person sees without scrolling (the viewport only), beside the full-page shot."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}-first-screen.png"), full_page=False)


def no_sideways_scroll(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def shot(page, name: str) -> None:
    """A full-page screenshot kept as a test artefact (test-artifacts/e2e/, gitignored)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
