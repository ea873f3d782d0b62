"""The central console in a real Chromium against ``fieldface central demo`` under gunicorn: the
fleet page, an alert acknowledged, a fleet report, the explorer with an entry's proof, the
agency's galleries with an erasure order's proof, at the
unit's 800x480 and at a desk's 1280x800. Controls are found by their visible labels and roles."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import open_page, shot
from tests.processes import clean_env, serving

SIZES = {"touch": (800, 480), "desk": (1280, 800)}


@pytest.fixture
def console_demo(tmp_path, fast_config_file):
    env = clean_env(FIELDFACE_CONFIG=str(fast_config_file))
    with serving(["central", "demo", "--dir", str(tmp_path / "central-demo")], env) as (base, _proc):
        yield base


def _fits(page, width: int) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= width, "the page scrolls sideways"


@pytest.mark.parametrize("size", SIZES)
def test_fleet_alert_report_explorer(browser, console_demo, size):
    width, height = SIZES[size]
    errors: list[str] = []
    context, page = open_page(browser, errors, (width, height))
    try:
        page.goto(console_demo + "/fleet")
        page.get_by_label("Username").fill("supervisor")
        page.get_by_label("Password").fill("fieldface-demo")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/fleet")
        for unit in ("unit-north", "unit-south", "unit-east"):
            assert page.get_by_role("cell", name=re.compile(unit)).count() >= 1
        assert page.get_by_text("entries 65..96 lost on the unit, kept centrally", exact=False).count() == 1
        _fits(page, width)
        shot(page, f"console-fleet-{size}")

        silence = page.locator("li.alert", has_text="silence")
        silence.get_by_label(re.compile("Note for silence on unit-east")).fill("station closed; checked by phone")
        silence.get_by_role("button", name="Acknowledge").click()
        page.wait_for_url("**/fleet*")
        assert page.get_by_text("Acknowledged by supervisor", exact=False).count() == 1
        assert page.get_by_text("station closed; checked by phone", exact=False).count() == 1
        shot(page, f"console-alert-acknowledged-{size}")

        page.get_by_role("link", name="Reports").click()
        page.get_by_role("button", name="Run report").click()
        page.wait_for_url("**/reports/run*")
        assert page.get_by_role("heading", name=re.compile("Accountability report")).count() == 1
        assert page.locator("svg[role=img]").count() >= 5
        assert page.get_by_text("fleet: all 3 registered units", exact=False).count() == 1
        _fits(page, width)
        shot(page, f"console-report-{size}")

        page.get_by_role("link", name="Explorer").click()
        page.get_by_label("Unit", exact=True).select_option("unit-south")
        page.get_by_label("Action", exact=True).fill("search")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url("**/explorer?*")
        shot(page, f"console-explorer-{size}")
        page.get_by_role("link", name=re.compile("Proof of unit-south entry")).first.click()
        assert page.get_by_text("verifies", exact=True).count() == 1
        assert page.get_by_text("intact", exact=True).count() == 1
        _fits(page, width)
        shot(page, f"console-entry-proof-{size}")
        page.go_back()
        page.get_by_role("button", name="Verify unit-south's chain now").click()
        assert page.get_by_text("chain verified", exact=False).count() == 1

        page.get_by_role("link", name="Galleries").click()
        page.wait_for_url("**/galleries")
        assert page.get_by_role("heading", name="wanted: version 3").count() == 1
        units = page.get_by_role("table", name="Gallery versions on the units")
        assert units.get_by_role("row", name=re.compile("unit-north wanted v3 .* current")).count() == 1
        assert units.get_by_role("row", name=re.compile("unit-south wanted v2 .* behind by 1 version")).count() == 1
        assert units.get_by_role("row", name=re.compile("unit-east wanted .* nothing applied")).count() == 1
        order = page.get_by_role("table", name="Order 1 on the units")
        assert order.get_by_role("row", name=re.compile("unit-east OUTSTANDING")).count() == 1
        assert page.get_by_text("Applied on 1 of 3 units; 2 OUTSTANDING", exact=False).count() == 1
        assert page.get_by_text("Sample person", exact=False).count() == 0  # references only, no names
        _fits(page, width)
        shot(page, f"console-galleries-{size}")
        page.get_by_role("link", name="Proof of order 1 on unit-north").click()
        assert page.get_by_text("verifies", exact=True).count() == 1
        assert page.get_by_text("gallery.erasure_applied", exact=False).count() >= 1
        assert errors == [], errors
    finally:
        context.close()
