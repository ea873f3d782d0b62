"""In Debian's Chromium: a probe taken with the unit's camera (Capture) at 800x480, the face crops
on the comparator, and a page tour at both screen sizes (800x480 and 1280x800) checking
that nothing scrolls sideways and that every control is at least 44 px for a finger.

The camera is the ``files`` source on a tests/data photo, owned by the served process like the
real one. Screenshots land in test-artifacts/e2e/.
"""

from __future__ import annotations

import re
import time

import pytest

from tests.conftest import FAST_KEYS
from tests.e2e.conftest import login, open_page, shot
from tests.processes import REPO, clean_env, serving

pytestmark = pytest.mark.e2e
PROBE = REPO / "tests" / "data" / "obama2.jpg"
SIZES = {"800x480": (800, 480), "1280x800": (1280, 800)}
# The controls a finger presses; radio buttons and checkboxes are inside a 44 px label.pick.
TOUCH = ("button:visible, a.button:visible, .nav a:visible, label.pick:visible, select:visible, "
         "input:visible:not([type=radio]):not([type=checkbox])")  # fmt: skip


@pytest.fixture(scope="module")
def camera_unit(tmp_path_factory):
    """``fieldface demo`` with a camera: the README's main command on a unit that has one."""
    root = tmp_path_factory.mktemp("camera-unit")
    config = root / "config.toml"
    camera = f'[camera]\ntype = "files"\nsource = "{PROBE}"\nlock_file = "{root / "camera.lock"}"\n'
    config.write_text("[keys]\n" + "".join(f"{k} = {v}\n" for k, v in FAST_KEYS.items()) + camera)
    with serving(["demo", "--dir", str(root / "demo")], clean_env(FIELDFACE_CONFIG=str(config))) as (base, _proc):
        yield base


def _capture(page, base: str, case: str, screenshot: str | None = None) -> str:
    """Step 1 from the camera; returns the examination's URL."""
    page.goto(base + "/cases/new", wait_until="domcontentloaded")  # the preview stream never "loads"
    # The live preview shows frames (an <img> on an MJPEG stream).
    # (Polled from here: wait_for_function would eval in the page, which the CSP rightly forbids.)
    preview = page.get_by_role("img", name="live camera preview")
    deadline = time.monotonic() + 15
    while preview.evaluate("e => e.naturalWidth") == 0:
        assert time.monotonic() < deadline, "no preview frame within 15 s"
        page.wait_for_timeout(100)
    page.get_by_label("Case number").fill(case)
    page.get_by_label("Offence category").select_option("robbery")
    page.get_by_label("Legal authority / purpose").fill("Warrant 9/2025, taken with the unit's camera")
    if screenshot:
        shot(page, screenshot)
    page.get_by_role("button", name="Capture").click()
    page.wait_for_url("**/probe")  # the kept still of the burst, and the others to choose from
    page.get_by_role("button", name="Use this face").click()
    page.wait_for_url("**/enhance")
    return page.url.rsplit("/", 1)[0]


def test_capture_at_800x480_and_the_comparators_face_crops(browser, camera_unit):
    errors: list[str] = []
    context, page = open_page(browser, errors, SIZES["800x480"])
    login(page, camera_unit, "examiner")
    exam_url = _capture(page, camera_unit, "E2E-CAM-1", screenshot="1-camera-preview-800x480")
    page.goto(exam_url + "/probe")
    # What the officer reads: the original's SHA-256 after its label, and face 1's quality verdict.
    assert page.get_by_text(re.compile(r"^[0-9a-f]{64}$")).count() == 1
    face_1 = page.get_by_role("row").filter(has=page.get_by_role("cell", name="1", exact=True)).first
    assert face_1.get_by_role("cell", name=re.compile(r"^(pass|warn)$")).count() == 1
    shot(page, "1-camera-probe-quality-800x480")
    page.goto(exam_url + "/enhance")
    page.get_by_role("button", name="Search the gallery").click()
    page.wait_for_url("**/analysis")
    page.get_by_role("link", name="Compare").first.click()
    # The comparator shows the two faces as crops aligned on the eyes at one scale (the landmark
    # overlay stays on the probe step, where the whole photo is shown).
    for name in ("searched face (probe)", "candidate 1 face"):
        face = page.get_by_role("img", name=name)
        face.wait_for(state="visible", timeout=10_000)
        assert face.evaluate("e => e.naturalWidth") == 320
    shot(page, "1-comparator-faces-800x480")
    context.close()
    assert errors == []


@pytest.mark.parametrize("size", list(SIZES))
def test_page_tour_fits_the_screen_with_finger_sized_controls(browser, camera_unit, size):
    errors: list[str] = []
    context, page = open_page(browser, errors, SIZES[size])
    login(page, camera_unit, "examiner")
    exam_url = _capture(page, camera_unit, f"E2E-TOUR-{size}")
    page.get_by_role("button", name="Search the gallery").click()
    page.wait_for_url("**/analysis")
    pages = {"cases": "/cases", "new-search": "/cases/new", "probe": exam_url + "/probe",
             "enhance": exam_url + "/enhance", "analysis": exam_url + "/analysis",
             "compare": exam_url + "/candidates/1", "status": "/status"}  # fmt: skip
    problems = []
    for name, path in pages.items():
        page.goto(path if path.startswith("http") else camera_unit + path, wait_until="domcontentloaded")
        page.wait_for_load_state("domcontentloaded")
        sideways = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        if sideways > 0:
            problems.append(f"{name}: scrolls sideways by {sideways}px")
        controls = page.locator(TOUCH)
        assert controls.count() > 0, name
        for i in range(controls.count()):
            box = controls.nth(i).bounding_box()
            if box and (box["height"] < 44 or box["width"] < 44):
                label = controls.nth(i).evaluate("e => e.id || e.name || e.textContent.trim().slice(0, 30)")
                problems.append(f"{name}: {label!r} is {box['width']:.0f}x{box['height']:.0f}px")
        shot(page, f"tour-{name}-{size}")
    context.close()
    assert problems == []
    assert errors == []
