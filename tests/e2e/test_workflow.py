"""The whole five-step flow in Debian's Chromium at 800x480, as three people: examiner, peer and
the supervisor who releases. Controls are found by their visible labels and roles only, as a person
who has never seen the box would find them.

Screenshots of every step land in test-artifacts/e2e/ (gitignored) for CI to keep: the full page,
and the first screen (what is seen without scrolling).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import first_screen, login, no_sideways_scroll, open_page, shot
from tests.processes import REPO

pytestmark = pytest.mark.e2e
PROBE = REPO / "tests" / "data" / "obama2.jpg"
FEATURES = ("Overall face shape and proportions", "Hairline and forehead", "Eyebrows",
            "Eyes (shape, spacing, lids, creases)", "Nose (bridge, tip, nostrils)", "Cheeks and cheekbones",
            "Ears (helix, lobe, tragus)", "Mouth and lips", "Chin and jawline", "Facial hair",
            "Skin: scars, moles, marks, tattoos, wrinkles")  # fmt: skip


def lit_step(page) -> str:
    return page.locator("[aria-current=step]").inner_text()


def test_examiner_peer_and_supervisor_take_a_probe_to_a_released_lead_report(browser, demo_unit):
    errors: list[str] = []
    ctx_a, exa = open_page(browser, errors)
    login(exa, demo_unit, "examiner")
    # 1. New search: case, offence, purpose, an imported probe; the quality report per face.
    exa.get_by_role("link", name="New search").click()
    exa.get_by_label("Case number").fill("E2E-2025-1")
    exa.get_by_label("Offence category").select_option("robbery")
    exa.get_by_label("Legal authority / purpose").fill("Warrant 12/2025, robbery at the station")
    exa.get_by_label("Probe photo file (JPEG or PNG)").set_input_files(str(PROBE))
    shot(exa, "1-new-search")
    exa.get_by_role("button", name="Assess the imported file").click()
    exa.wait_for_url("**/enhance")
    exam_url = exa.url.rsplit("/", 1)[0]
    exa.goto(exam_url + "/probe")
    assert lit_step(exa).startswith("1.")
    # The photo, its numbered face box and "Use this face" on the first screen.
    expect(exa.get_by_role("img", name="probe")).to_be_in_viewport()
    expect(exa.get_by_role("button", name="Use this face")).to_be_in_viewport()
    expect(exa.get_by_label("Face 1")).to_be_checked()
    assert exa.get_by_role("row", name=re.compile("Face 1")).get_by_role("cell").nth(1).inner_text() in ("pass", "warn")
    assert no_sideways_scroll(exa)
    shot(exa, "1-probe-quality")
    first_screen(exa, "1-probe-quality")
    exa.get_by_role("button", name="Use this face").click()
    exa.wait_for_url("**/enhance")
    # 2. Enhancement: one disclosed edit, then the search through the API.
    assert lit_step(exa).startswith("2.")
    expect(exa.get_by_role("img", name="the searched face (face 1)")).to_be_in_viewport()
    first_screen(exa, "2-enhancement-before-edit")
    edit = exa.get_by_role("group", name="brightness / contrast")
    edit.get_by_label("brightness").fill("8")
    edit.get_by_label("brightness").blur()  # a changed value previews in place of the photo
    expect(exa.get_by_role("img", name="live preview")).to_be_in_viewport()
    first_screen(exa, "2-enhancement-preview")
    edit.get_by_role("button", name="Apply").click()
    expect(exa.get_by_role("listitem").filter(has_text="brightness_contrast")).to_be_visible()
    assert no_sideways_scroll(exa)
    shot(exa, "2-enhancement")
    first_screen(exa, "2-enhancement")
    exa.get_by_role("button", name="Search the gallery").click()
    exa.wait_for_url("**/analysis")
    # 3. Facial analysis: scores with their meaning (a tap opens it), comparator, checklist, disposition.
    assert lit_step(exa).startswith("3.")
    first = exa.get_by_role("row", name=re.compile("Sample person 1"))
    assert "match" not in exa.get_by_role("table").first.inner_text().lower()
    exa.get_by_text("What the scores mean").click()
    expect(exa.get_by_text("It is not a chance of being the same person")).to_be_visible()
    assert no_sideways_scroll(exa)
    shot(exa, "3-candidates")
    first_screen(exa, "3-candidates")
    first.get_by_role("link", name="Compare").click()
    probe_face = exa.get_by_role("img", name="searched face (probe)")
    candidate_face = exa.get_by_role("img", name="candidate 1 face")
    expect(probe_face).to_be_in_viewport()
    expect(candidate_face).to_be_in_viewport()
    first_screen(exa, "3-comparator")
    exa.get_by_role("button", name="Zoom +").click()
    for feature in FEATURES:
        exa.get_by_role("radiogroup", name=feature).get_by_label("similar", exact=True).check()
    exa.get_by_label("Notes on Ears (helix, lobe, tragus)").fill("<script>alert(1)</script> lobe attached")
    exa.get_by_role("radiogroup", name="Disposition").get_by_label("possible lead").check()
    exa.get_by_label("Reason", exact=True).fill("Ears, eyebrows and chin agree; no dissimilar feature")
    # The checklist scrolled in its own pane: both faces are still where they were.
    expect(probe_face).to_be_in_viewport()
    expect(candidate_face).to_be_in_viewport()
    assert no_sideways_scroll(exa)
    first_screen(exa, "3-comparator-filled")
    shot(exa, "3-comparator")
    exa.get_by_role("button", name="Save checklist and disposition").click()
    exa.wait_for_url("**/analysis")
    # 4. Verification, tier 1 by the examiner.
    exa.get_by_role("link", name="Go to verification").click()
    assert lit_step(exa).startswith("4.")
    exa.get_by_label("Tier-1 corroboration notes").fill("Seen near the station on the day (CCTV log 4)")
    exa.get_by_role("button", name="Ask for peer review").click()
    expect(exa.get_by_text("Awaiting blind peer review")).to_be_visible()
    shot(exa, "4-awaiting-review")
    # 4. Tier 2: the peer reviews blind in their own session.
    ctx_b, peer = open_page(browser, errors)
    login(peer, demo_unit, "peer")
    peer.get_by_role("navigation").get_by_role("link", name="Review").click()
    peer.get_by_role("row", name=re.compile("E2E-2025-1")).get_by_role("link", name="Review").click()
    assert "possible-lead" not in peer.content() and "CCTV" not in peer.content()  # blind
    expect(peer.get_by_role("img", name="probe")).to_be_in_viewport()
    assert no_sideways_scroll(peer)
    shot(peer, "4-blind-peer-review")
    first_screen(peer, "4-blind-peer-review")
    peer.get_by_label("1. Sample person 1").check()
    peer.get_by_label("Your reasons").fill("Same ear helix and lobe; eyebrows agree")
    peer.get_by_role("button", name="Submit my review").click()
    expect(peer.get_by_text("The reviewer concurred.")).to_be_visible()
    assert lit_step(peer).startswith("4.")  # the heading says 4. Verification: so does the highlight
    shot(peer, "4-peer-concurred")
    # 5. The examiner is told who releases; the supervisor releases.
    exa.reload()
    expect(exa.get_by_text("A supervisor now releases the lead report")).to_be_visible()
    expect(exa.get_by_role("button", name="5. Release the lead report")).to_have_count(0)
    ctx_c, boss = open_page(browser, errors)
    login(boss, demo_unit, "supervisor")
    boss.goto(exam_url + "/verify")
    boss.get_by_role("button", name="5. Release the lead report").click()
    boss.wait_for_url("**/report*")
    expect(boss.get_by_role("status").filter(has_text="The lead report was released.")).to_be_visible()
    statement = boss.locator("#statement").inner_text()
    assert "not a positive identification" in statement and "not probable cause" in statement
    report = boss.get_by_role("article").inner_text()
    assert "<script>alert(1)</script> lobe attached" in report  # shown, not run
    expect(boss.get_by_role("img", name="searched face")).to_be_visible()
    expect(boss.get_by_role("img", name="candidate face")).to_be_visible()
    assert boss.evaluate("[...document.querySelectorAll('.report-faces img')].every(i => i.naturalWidth > 0)")
    timeline = boss.get_by_role("table").last.inner_text()
    assert "exam.review" in timeline and "exam.release" in timeline
    assert no_sideways_scroll(boss)
    shot(boss, "5-lead-report")
    first_screen(boss, "5-lead-report")
    boss.emulate_media(media="print")
    assert boss.locator("header.bar").is_hidden()
    shot(boss, "5-lead-report-print")
    for ctx in (ctx_a, ctx_b, ctx_c):
        ctx.close()
    assert errors == []  # no CSP violation, no script error
