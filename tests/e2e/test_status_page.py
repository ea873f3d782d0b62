import pytest

pytestmark = pytest.mark.e2e


def test_status_page_renders_in_chromium_with_no_csp_violation(browser, served_unit, tmp_path):
    page = browser.new_page(viewport={"width": 800, "height": 480})  # the unit's touchscreen
    console_errors = []
    page.on("console", lambda msg: msg.type == "error" and console_errors.append(msg.text))
    page.goto(served_unit + "/")
    assert page.locator("#device-id").inner_text() == "e2e-unit"
    assert "Unlocked" in page.locator("#state").inner_text()
    # The stylesheet loaded from the box itself (no CDN): the header bar is styled.
    assert page.locator("header.bar").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(29, 39, 51)"
    page.screenshot(path=str(tmp_path / "status.png"))
    assert console_errors == []
    page.close()
