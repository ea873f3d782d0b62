"""In Debian's Chromium at 800x480: the live guidance follows a scene the camera plays (blurred,
dark, turned, then good frames), says "ready" only on the good ones, and Capture's burst keeps the
best still. The camera is the ``files`` source playing a folder made from the committed photos
(tests/camera/scenes.py), each picture for FRAME_S seconds. Controls are found by label and role.
Screenshots: test-artifacts/e2e/guidance-*.png and burst-*.png.
"""

from __future__ import annotations

import itertools
import re
import time

import pytest

from tests.camera.scenes import make_scene
from tests.conftest import FAST_KEYS
from tests.e2e.conftest import login, open_page, shot
from tests.processes import clean_env, serving

pytestmark = pytest.mark.e2e
FRAME_S = 2.0
# What the guidance says for each picture of the scene, in the order the camera plays them.
CYCLE = ("blurred", "dark", "turned", "good")
WORDS = {"blurred": "Hold the camera steady", "dark": "More light on the face",
         "turned": "Turn the head toward the camera", "good": "Ready"}  # fmt: skip


@pytest.fixture(scope="module")
def scene_unit(tmp_path_factory, preview_recognizer):
    root = tmp_path_factory.mktemp("scene-unit")
    scene = make_scene(preview_recognizer, root / "scene")
    config = root / "config.toml"
    camera = (f'[camera]\ntype = "files"\nsource = "{scene}"\nlock_file = "{root / "camera.lock"}"\n'
              f"files_frame_s = {FRAME_S}\nstill_size = [800, 1000]\n")  # fmt: skip
    config.write_text("[keys]\n" + "".join(f"{k} = {v}\n" for k, v in FAST_KEYS.items()) + camera)
    with serving(["demo", "--dir", str(root / "demo")], clean_env(FIELDFACE_CONFIG=str(config))) as (base, _proc):
        yield base


def category(text: str) -> str | None:
    return next((name for name, words in WORDS.items() if text.startswith(words)), None)


def test_guidance_follows_the_scene_and_the_burst_keeps_the_best_still(browser, scene_unit):
    errors: list[str] = []
    context, page = open_page(browser, errors)
    login(page, scene_unit, "examiner")
    page.goto(scene_unit + "/cases/new", wait_until="domcontentloaded")
    status = page.get_by_role("status", name="Capture guidance")
    seen: list[tuple[str, bool]] = []  # (category, the face box drawn green) as the text changes
    shots = set()
    deadline = time.monotonic() + 6 * len(CYCLE) * FRAME_S
    # Watch a little more than one loop of the scene: every state, and the turn back to the start.
    while time.monotonic() < deadline and not ({k for k, _ in seen} >= set(CYCLE) and len(seen) > len(CYCLE)):
        text = status.inner_text()
        kind = category(text)
        ready_box = page.locator(".guide-box.ready").count() == 1
        if kind is not None and (not seen or seen[-1][0] != kind):
            seen.append((kind, ready_box))
            if kind not in shots:  # one screenshot per state, at the touchscreen's size
                shot(page, f"guidance-{len(shots) + 1}-{kind}-800x480")
                shots.add(kind)
        page.wait_for_timeout(100)
    kinds = [k for k, _ in seen]
    assert set(kinds) == set(CYCLE), f"every picture of the scene got its advice: {kinds}"
    for before, after in itertools.pairwise(kinds):
        assert CYCLE.index(after) == (CYCLE.index(before) + 1) % len(CYCLE), f"the advice follows the scene: {kinds}"
    assert all(box == (kind == "good") for kind, box in seen), "'ready' (and a green box) only on the good frames"

    # The first screen holds the live picture, its advice and the Capture button (no scrolling).
    for name, control in (("preview", page.get_by_role("img", name="live camera preview")), ("advice", status),
                          ("Capture", page.get_by_role("button", name="Capture"))):  # fmt: skip
        box = control.bounding_box()
        assert box and box["y"] >= 0 and box["y"] + box["height"] <= 480, f"{name} is not on the first screen: {box}"
    page.get_by_label("Case number").fill("E2E-BURST-1")
    page.get_by_label("Offence category").select_option("robbery")
    page.get_by_label("Legal authority / purpose").fill("Warrant 19/2026, coached capture")
    shot(page, "guidance-form-800x480")
    page.get_by_role("button", name="Capture").click()
    page.wait_for_url("**/probe")
    captions = page.locator(".burst figcaption").all_inner_texts()
    assert len(captions) == 5, captions
    scores = [int(m.group(1)) if (m := re.search(r"quality (\d+)", c)) else -1 for c in captions]
    best = [i for i, c in enumerate(captions) if "— best" in c]
    assert best == [scores.index(max(scores))], captions
    shot(page, "burst-kept-still-800x480")
    assert "(in the probe)" in captions[best[0]], "the best still is the probe"
    assert page.get_by_role("button", name=f"Use still {best[0] + 1}").count() == 0
    # Another good still of the burst joins the probe: the search will combine two stills.
    other = max((i for i in range(5) if i != best[0]), key=lambda i: scores[i])
    page.get_by_role("button", name=f"Add still {other + 1}").click()
    page.wait_for_url("**/probe")
    assert "The search combines 2 stills" in page.get_by_text("The search combines").inner_text()
    shot(page, "burst-two-stills-800x480")
    context.close()
    assert errors == []
