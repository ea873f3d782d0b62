"""The supervisor's and auditor's pages at 800x480: the menu on one line, nothing scrolls sideways
(the audit table included), the Users page's headers over their controls."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import first_screen, login, no_sideways_scroll, open_page

pytestmark = pytest.mark.e2e
PAGES = {
    "supervisor": ("/cases", "/audit", "/admin/users", "/gallery", "/gallery/enroll", "/reports", "/status"),
    "auditor": ("/cases", "/audit", "/reports", "/status"),
}


@pytest.mark.parametrize("who", ["supervisor", "auditor"])
def test_menu_on_one_line_and_no_page_scrolls_sideways(browser, demo_unit, who):
    errors: list[str] = []
    context, page = open_page(browser, errors)
    login(page, demo_unit, who)
    problems = []
    for path in PAGES[who]:
        page.goto(demo_unit + path)
        name = path.strip("/").replace("/", "-")
        bar = page.get_by_role("banner").bounding_box()
        if bar["height"] > 60:
            problems.append(f"{path}: the menu wraps ({bar['height']:.0f} px high)")
        if not no_sideways_scroll(page):
            width = page.evaluate("document.documentElement.scrollWidth")
            problems.append(f"{path}: scrolls sideways ({width} px wide)")
        first_screen(page, f"{who}-{name}")
    context.close()
    assert problems == []
    assert errors == []
