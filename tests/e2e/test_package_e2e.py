"""The disclosure package from the touchscreen: the demo's released example case, at 800x480.

A newcomer logs in, finds the example case (marked as one), opens its lead report and presses
the package button; the download is a package that verifies with the unit's public key.
"""

from __future__ import annotations

import json
import re
import zipfile

import pytest

from device.audit.signing import parse_public_key
from device.disclosure import verify_package
from tests.e2e.conftest import login, open_page, shot

pytestmark = pytest.mark.e2e


def _download(page, label: str, tmp_path, name: str):
    with page.expect_download() as info:
        page.get_by_role("button", name=label).click()
    path = tmp_path / name
    info.value.save_as(path)
    return path


def test_the_package_button_on_a_released_report_hands_over_a_verifiable_package(browser, demo_unit, tmp_path,
                                                                                  run_cli):  # fmt: skip
    errors: list[str] = []
    context, page = open_page(browser, errors)
    login(page, demo_unit, "examiner")
    row = page.get_by_role("row").filter(has_text="DEMO-CASE-1")
    assert "Example" in row.inner_text()
    shot(page, "package-0-case-list")
    row.get_by_role("link").click()
    page.get_by_role("link", name="5. View the lead report").click()
    page.wait_for_url("**/report")
    assert "EXAMPLE CASE" in page.locator("#report").inner_text()
    # the examiner may take the redacted package only (the policy names supervisors for the full one)
    assert page.get_by_role("button", name=re.compile("Download full package")).count() == 0
    page.get_by_role("heading", name="Disclosure package").scroll_into_view_if_needed()
    shot(page, "package-1-report-button")
    path = _download(page, "Download package (other candidates redacted)", tmp_path, "case.zip")
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        candidates = json.loads(archive.read("candidates.json"))["candidates"]
        assert archive.read("report.pdf").startswith(b"%PDF-")
    assert (manifest["case"], manifest["redacted"], manifest["created_by"], manifest["example"]) == (
        "DEMO-CASE-1", True, "examiner", True)  # fmt: skip
    assert any(c.get("redacted") for c in candidates) and any(c["lead"] for c in candidates)
    context.close()
    # a supervisor sees and takes the full package too
    context, page = open_page(browser, errors)
    login(page, demo_unit, "supervisor")
    page.get_by_role("row").filter(has_text="DEMO-CASE-1").get_by_role("link").click()
    page.get_by_role("link", name="5. View the lead report").click()
    full = _download(page, "Download full package (every face and name)", tmp_path, "full.zip")
    with zipfile.ZipFile(full) as archive:
        assert json.loads(archive.read("manifest.json"))["redacted"] is False
        assert not any(c.get("redacted") for c in json.loads(archive.read("candidates.json"))["candidates"])
    # making them was audited, and the audit page shows it
    page.goto(demo_unit + "/audit")
    assert page.get_by_text("package.create").count() >= 2
    shot(page, "package-2-audit")
    context.close()
    assert errors == []
    # both downloads verify offline with the unit's public key (from the unit, not from the package)
    demo = tmp_path / "demo"
    env = {"FIELDFACE_KEY_FILE": str(demo / "key")}
    pub = run_cli("--data-dir", str(demo / "data"), "audit", "pubkey", env=env)
    assert pub.returncode == 0, pub.stderr
    for package in (path, full):
        key = parse_public_key(pub.stdout.split()[-1])
        report = verify_package(package, key)
        assert report.ok, report.findings
