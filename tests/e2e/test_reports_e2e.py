"""The accountability pages in Debian's Chromium at 800x480, as the unit's first supervisor:
produce the month's report, change a policy setting with a reason, run an operational test on a
"USB stick" and follow its progress page (web/static/reports.js) to the result.

Screenshots land in test-artifacts/e2e/ (gitignored) for CI to keep.
"""

from __future__ import annotations

import re
import shutil

import pytest

from tests.conftest import FAST_KEYS
from tests.e2e.conftest import open_page, shot
from tests.processes import REPO

pytestmark = pytest.mark.e2e
PASSWORD = "a long password"


@pytest.fixture
def media(tmp_path):
    stick = tmp_path / "media" / "stick" / "agency-set"
    for identity, files in {"p1": ["obama.jpg", "obama3.jpg"], "p2": ["biden.jpg"]}.items():
        (stick / identity).mkdir(parents=True)
        for name in files:
            shutil.copy(REPO / "tests" / "data" / name, stick / identity / name)
    return tmp_path / "media"


@pytest.fixture
def fast_config_file(tmp_path, media):
    """The served unit's config (tests/conftest.py's), reading labelled photos below ``media``."""
    path = tmp_path / "config.toml"
    keys = "".join(f"{k} = {v}\n" for k, v in FAST_KEYS.items())
    path.write_text(f'[keys]\n{keys}[reports]\nevaluation_root = "{media}"\n', encoding="utf-8")
    return path


def test_supervisor_reports_changes_policy_and_tests_on_the_touchscreen(browser, served_unit):
    errors: list[str] = []  # a CSP violation is a console error
    context, page = open_page(browser, errors)
    page.goto(served_unit + "/")
    page.fill("#username", "boss")
    page.fill("#password", PASSWORD)
    page.fill("#password2", PASSWORD)
    page.click("#create")
    page.wait_for_url("**/login")
    page.fill("#username", "boss")
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url("**/cases")

    # The period report: this month so far holds the setup and the login.
    page.click("nav >> text=Reports")
    page.wait_for_url("**/reports")
    page.click("#produce")
    page.wait_for_url("**/reports/period?*")
    assert page.locator("#t-access").inner_text().split() == ["logins", "1", "failed_logins", "0", "lockouts", "0"]
    assert page.locator("svg.chart").count() == 5
    # The server-drawn charts are recoloured for the dark theme by reports.css.
    fill = page.locator("svg.chart text").first.evaluate("e => getComputedStyle(e).fill")
    assert fill == "rgb(232, 237, 242)"
    assert page.evaluate("document.documentElement.scrollWidth") <= 800  # no sideways scrolling
    shot(page, "reports-1-period")
    with page.expect_download() as download:
        page.click("#download-csv")
    assert download.value.suggested_filename.startswith("fieldface-report-")

    # Policy: a bad value is one line and changes nothing; then the change with its reason.
    page.click(".subnav >> text=Policy")
    page.click("#edit-search-top_k")
    page.fill("#v-search-top_k", "500")
    page.fill("#r-v-search-top_k", "pilot month")
    page.click("#save-search-top_k")
    assert "less than or equal to 200" in page.locator("#error").inner_text()
    assert page.locator("#value-search-top_k").inner_text() == "20"
    assert len(errors) == 1 and "status of 400" in errors.pop()  # the refused value's page itself
    page.fill("#v-search-top_k", "12")  # the form came back open, with the reason kept
    assert page.locator("#r-v-search-top_k").input_value() == "pilot month"
    page.click("#save-search-top_k")
    page.wait_for_url("**/reports/policy?changed=search.top_k*")
    assert page.locator("#value-search-top_k").inner_text() == "12"
    assert "by boss" in page.locator("#search-top_k").inner_text()
    shot(page, "reports-2-policy")

    # Operational test on the stick: the progress page polls and moves on to the stored result.
    page.click(".subnav >> text=Operational tests")
    page.select_option("#folder", "stick/agency-set")
    page.click("#run-test")
    page.wait_for_url(re.compile(r"/reports/evaluations/\d+$"), timeout=60_000)
    assert "2 identities, 3 of 3 photos used" in page.locator("#data").inner_text()
    assert "not resolvable" in page.locator("#tar").inner_text()
    assert page.locator("#det").evaluate("img => img.naturalWidth") > 0
    shot(page, "reports-3-evaluation")
    assert errors == []
    context.close()
