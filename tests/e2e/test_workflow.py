"""The whole five-step flow in Debian's Chromium at 800x480, as two people: examiner and peer.

Screenshots of every step land in test-artifacts/e2e/ (gitignored) for CI to keep.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import login, open_page, shot
from tests.processes import REPO

pytestmark = pytest.mark.e2e
PROBE = REPO / "tests" / "data" / "obama2.jpg"
SIMILAR = ("face_shape", "hairline", "eyebrows", "eyes", "nose", "cheeks", "ears", "mouth", "chin", "facial_hair",
           "skin")  # fmt: skip


def test_examiner_and_peer_take_a_probe_to_a_released_lead_report(browser, demo_unit):
    errors: list[str] = []
    ctx_a, exa = open_page(browser, errors)
    login(exa, demo_unit, "examiner")
    # 1. New search: case, offence, purpose, an imported probe; the quality report per face.
    exa.click("#new-search")
    exa.fill("#case", "E2E-2025-1")
    exa.select_option("#offense", "robbery")
    exa.fill("#purpose", "Warrant 12/2025, robbery at the station")
    exa.set_input_files("#probe", str(PROBE))
    shot(exa, "1-new-search")
    exa.click("#start")
    exa.wait_for_url("**/enhance")
    exam_url = exa.url.rsplit("/", 1)[0]
    exa.goto(exam_url + "/probe")
    assert exa.locator("#quality-0").inner_text() in ("pass", "warn")
    shot(exa, "1-probe-quality")
    # 2. Enhancement: one disclosed edit, then the search through the API.
    exa.goto(exam_url + "/enhance")
    exa.locator("form.edit").filter(has=exa.locator("#apply-brightness_contrast")).locator(
        "input[name=brightness]"
    ).fill("8")
    exa.click("#apply-brightness_contrast")
    exa.wait_for_selector("#edits li")
    shot(exa, "2-enhancement")
    exa.click("#run-search")
    exa.wait_for_url("**/analysis")
    # 3. Facial analysis: scores with their meaning, comparator, checklist, disposition.
    assert "Sample person 1" in exa.locator("#candidates tbody tr").first.inner_text()
    assert "match" not in exa.locator("#candidates").inner_text().lower()
    shot(exa, "3-candidates")
    exa.click("#compare-1")
    exa.click("#zoom-in")
    for feature in SIMILAR:
        exa.check(f"input[name=v_{feature}][value=similar]")
    exa.fill("input[name=n_ears]", "<script>alert(1)</script> lobe attached")
    exa.check("input[name=disposition][value=possible-lead]")
    exa.fill("#reason", "Ears, eyebrows and chin agree; no dissimilar feature")
    shot(exa, "3-comparator")
    exa.click("#save-disposition")
    exa.wait_for_url("**/analysis")
    # 4. Verification, tier 1 by the examiner.
    exa.click("#to-verify")
    exa.fill("#corroboration", "Seen near the station on the day (CCTV log 4)")
    exa.click("#submit-review")
    exa.wait_for_selector("#awaiting")
    shot(exa, "4-awaiting-review")
    # 4. Tier 2: the peer reviews blind in their own session.
    ctx_b, peer = open_page(browser, errors)
    login(peer, demo_unit, "peer")
    peer.goto(demo_unit + "/review")
    peer.locator("#queue a.button").first.click()
    assert "possible-lead" not in peer.content() and "CCTV" not in peer.content()  # blind
    shot(peer, "4-blind-peer-review")
    peer.check("#choose-1")
    peer.fill("#reason", "Same ear helix and lobe; eyebrows agree")
    peer.click("#submit-peer")
    peer.wait_for_selector("#verdict")
    assert "concurred" in peer.locator("#verdict").inner_text()
    shot(peer, "4-peer-concurred")
    # 5. The examiner releases the printable lead report.
    exa.goto(exam_url + "/verify")
    exa.click("#release")
    exa.wait_for_url("**/report")
    statement = exa.locator("#statement").inner_text()
    assert "not a positive identification" in statement and "not probable cause" in statement
    assert "<script>alert(1)</script> lobe attached" in exa.locator("#report").inner_text()  # shown, not run
    timeline = exa.locator("#timeline").inner_text()
    assert "exam.review" in timeline and "exam.release" in timeline
    shot(exa, "5-lead-report")
    exa.emulate_media(media="print")
    assert exa.locator("header.bar").is_hidden()
    shot(exa, "5-lead-report-print")
    ctx_a.close()
    ctx_b.close()
    assert errors == []  # no CSP violation, no script error
