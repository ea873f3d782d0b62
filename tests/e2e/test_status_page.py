import pytest

pytestmark = pytest.mark.e2e


def test_status_page_renders_in_chromium_with_no_csp_violation(browser, served_unit, tmp_path):
    page = browser.new_page(viewport={"width": 800, "height": 480})  # the unit's touchscreen
    console_errors = []
    page.on("console", lambda msg: msg.type == "error" and console_errors.append(msg.text))
    # A fresh unit: first-run setup makes the supervisor, who logs in and opens the status page.
    page.goto(served_unit + "/")
    page.fill("#username", "boss")
    page.fill("#password", "a long password")
    page.fill("#password2", "a long password")
    page.click("#create")
    page.wait_for_url("**/login")
    page.fill("#username", "boss")
    page.fill("#password", "a long password")
    page.click("#login")
    page.wait_for_url("**/cases")
    page.goto(served_unit + "/status")
    assert page.locator("#device-id").inner_text() == "e2e-unit"
    assert "Unlocked" in page.locator("#state").inner_text()
    # The stylesheet loaded from the box itself (no CDN): the header bar is styled.
    assert page.locator("header.bar").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(29, 39, 51)"
    page.screenshot(path=str(tmp_path / "status.png"))
    assert console_errors == []
    page.close()
