"""At 800x480 by visible labels only: a group photo's faces are numbered boxes that choose the face,
and a dissent ends in an action someone can take (a recorded closure), never a dead end."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import first_screen, login, no_sideways_scroll, open_page, shot
from tests.e2e.test_workflow import FEATURES
from tests.gallery.conftest import two_faces

pytestmark = pytest.mark.e2e


def test_a_tap_on_a_numbered_face_box_chooses_it_and_a_dissent_is_closed_with_a_reason(browser, demo_unit):
    errors: list[str] = []
    ctx_a, exa = open_page(browser, errors)
    login(exa, demo_unit, "examiner")
    exa.get_by_role("link", name="New search").click()
    exa.get_by_label("Case number").fill("E2E-GROUP-1")
    exa.get_by_label("Offence category").select_option("robbery")
    exa.get_by_label("Legal authority / purpose").fill("Warrant 3/2026")
    exa.get_by_label("Probe photo file (JPEG or PNG)").set_input_files(
        {"name": "group.jpg", "mimeType": "image/jpeg", "buffer": two_faces()}
    )
    exa.get_by_role("button", name="Assess the imported file").click()
    exa.wait_for_url("**/probe")
    expect(exa.get_by_text("2 faces found")).to_be_visible()
    boxes = exa.locator("label.facebox")  # the numbered boxes drawn over the faces
    expect(boxes).to_have_count(2)
    assert [boxes.nth(i).inner_text() for i in range(2)] == ["1", "2"]
    for i in range(2):
        expect(boxes.nth(i)).to_be_in_viewport()
    expect(exa.get_by_role("button", name="Use this face")).to_be_in_viewport()
    boxes.nth(1).click()  # a tap on face 2's box
    expect(exa.get_by_label("Face 2")).to_be_checked()
    assert no_sideways_scroll(exa)
    first_screen(exa, "1-group-photo")
    exa.get_by_role("button", name="Use this face").click()
    exa.wait_for_url("**/enhance")
    expect(exa.get_by_role("img", name="the searched face (face 2)")).to_be_visible()
    # 2. Crop by dragging a box on the photo around face 2 (the right part): the box stays drawn on
    # the photo and the crop form fills in.
    photo = exa.get_by_role("img", name="working image").bounding_box()
    exa.mouse.move(photo["x"] + photo["width"] * 0.62, photo["y"] + photo["height"] * 0.05)
    exa.mouse.down()
    exa.mouse.move(photo["x"] + photo["width"] * 0.8, photo["y"] + photo["height"] * 0.5, steps=5)
    exa.mouse.move(photo["x"] + photo["width"] * 0.98, photo["y"] + photo["height"] * 0.95, steps=5)
    exa.mouse.up()
    crop = exa.get_by_role("group", name="crop")
    assert 0.55 < float(crop.get_by_label("x0").input_value()) < 0.7
    assert float(crop.get_by_label("x1").input_value()) > 0.9
    first_screen(exa, "2-crop-by-dragging")
    crop.get_by_role("button", name="Apply").click()
    expect(exa.get_by_role("listitem").filter(has_text="crop")).to_be_visible()
    exa.get_by_role("button", name="Search the gallery").click()
    exa.wait_for_url("**/analysis")
    exa.get_by_role("row").nth(1).get_by_role("link", name="Compare").click()
    for feature in FEATURES:
        exa.get_by_role("radiogroup", name=feature).get_by_label("not visible", exact=True).check()
    exa.get_by_role("radiogroup", name="Disposition").get_by_label("possible lead").check()
    exa.get_by_label("Reason", exact=True).fill("general likeness")
    below = exa.get_by_label("Why put forward a candidate below the line")
    if below.count():  # this face may score below the line: then the justification is asked for
        exa.get_by_role("button", name="Save checklist and disposition").click()
        expect(exa.get_by_role("alert")).to_contain_text("needs a written justification")
        exa.get_by_label("Why put forward a candidate below the line").fill("a witness named him")
    exa.get_by_role("button", name="Save checklist and disposition").click()
    exa.wait_for_url("**/analysis")
    exa.get_by_role("link", name="Go to verification").click()
    exa.get_by_label("Tier-1 corroboration notes").fill("lives nearby")
    exa.get_by_role("button", name="Ask for peer review").click()
    ctx_b, peer = open_page(browser, errors)
    login(peer, demo_unit, "peer")
    peer.get_by_role("navigation").get_by_role("link", name="Review").click()
    peer.get_by_role("row", name=re.compile("E2E-GROUP-1")).get_by_role("link", name="Review").click()
    peer.get_by_label("None of these is a possible lead").check()
    peer.get_by_label("Your reasons").fill("no candidate shares the ears")
    peer.get_by_role("button", name="Submit my review").click()
    expect(peer.get_by_text("The reviewer dissented")).to_be_visible()
    # The examiner is told what follows, and does it.
    exa.reload()
    expect(exa.get_by_text("What follows a dissent")).to_be_visible()
    shot(exa, "4-dissent-next-step")
    first_screen(exa, "4-dissent-next-step")
    exa.get_by_label("Reason for closing after the dissent").fill("the reviewer's dissent is accepted")
    exa.get_by_role("button", name="Close without a lead").click()
    exa.wait_for_url("**/cases*")
    expect(exa.get_by_role("status")).to_contain_text("closed without a lead")
    for ctx in (ctx_a, ctx_b):
        ctx.close()
    assert errors == []
