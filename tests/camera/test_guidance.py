"""Live capture guidance and the best-shot burst, on the files source playing a scene."""

from __future__ import annotations

import threading

import pytest

from device.camera import CameraOwner
from device.camera.burst import BurstShelf, BurstStill, best_of, take_burst
from device.camera.files import FileSource
from device.camera.guide import Guide, Seen, advice
from device.config import validate_config
from tests.camera.conftest import camera_config
from tests.camera.scenes import SCENE, make_scene


@pytest.fixture(scope="module")
def scene(preview_recognizer, tmp_path_factory):
    return make_scene(preview_recognizer, tmp_path_factory.mktemp("scene"))


def test_the_preview_recognizer_has_no_embedder_and_one_thread(preview_recognizer, scene):
    assert preview_recognizer.embedder is None
    assert preview_recognizer.detector.model.threads == 1 and preview_recognizer.mesh.model.threads == 1
    face = preview_recognizer.faces(FileSource_rgb(scene, "4-good.png"))[0]
    with pytest.raises(RuntimeError, match="never embeds"):
        preview_recognizer.embed(face)


def FileSource_rgb(folder, name):
    source = FileSource(camera_config(folder, type="files", source=str(folder / name)))
    source.open()
    return source.preview()


@pytest.mark.parametrize(("name", "says"), SCENE)
def test_guidance_says_the_failing_components_fix_and_ready_only_when_all_pass(preview_recognizer, scene, name,
                                                                               says):  # fmt: skip
    rgb = FileSource_rgb(scene, name)
    faces = preview_recognizer.faces(rgb)
    told = advice(Seen(rgb.shape[1], rgb.shape[0], tuple((f.box, f.quality) for f in faces), 1, 0.0, 0.0))
    if says == "ready":
        assert told["state"] == "ready" and told["instructions"] == []
    else:
        assert told["state"] == "adjust" and says in told["instructions"]
        # The words are the quality components' own (device/vision/quality.py), not a second list.
        assert all(any(r.endswith(i) for r in faces[0].quality.reasons) for i in told["instructions"])
    assert told["box"] is not None and all(0 <= v <= 100 for v in told["box"])


def test_no_face_and_no_frame_yet():
    assert advice(None)["state"] == "waiting"
    assert advice(Seen(640, 480, (), 3, 0.0, 0.0))["state"] == "no-face"


def test_the_guide_analyses_the_newest_frame_and_lets_the_others_go():
    """A slow analysis: frames offered meanwhile replace each other; the newest is analysed next."""
    gate, started, analysed = threading.Event(), threading.Event(), []

    def slow(rgb):
        started.set()
        gate.wait(10)
        analysed.append(int(rgb[0, 0, 0]))
        return []

    import numpy as np

    guide = Guide(slow, rate=100.0)
    frames = [np.full((4, 4, 3), i, np.uint8) for i in range(6)]
    guide.offer(frames[0])
    assert started.wait(10)
    for frame in frames[1:]:
        guide.offer(frame)  # while frame 0 is analysed
    gate.set()
    for _ in range(200):
        seen = guide.latest()
        if seen is not None and seen.seq == 6:
            break
        threading.Event().wait(0.05)
    guide.close()
    assert analysed == [0, 5], "frames 1-4 were replaced unanalysed, the newest won"
    assert guide.latest() is None, "close drops what the guide knew"


def test_the_files_source_plays_a_folder_as_a_scene(scene):
    now = [0.0]
    config = camera_config(scene, type="files", source=str(scene), files_frame_s=2.0)
    source = FileSource(config, clock=lambda: now[0])
    source.open()
    shown = []
    for t in (0.0, 1.9, 2.0, 4.5, 9.9, 10.0):
        now[0] = t
        shown.append(source._current())
    assert shown == [0, 0, 1, 2, 4, 0]
    source.still()  # a still moves the scene on by one picture
    assert source._current() == 1


def test_a_burst_keeps_the_best_still_by_the_unified_score(preview_recognizer, scene, tmp_path):
    config = camera_config(tmp_path, type="files", source=str(scene), still_size=(800, 1000))
    with CameraOwner(FileSource(config), config) as owner:
        owner.acquire()
        burst = take_burst(owner, 5, preview_recognizer.faces, 90)
    scores = [s.unified for s in burst.stills]
    assert burst.size == 5 and burst.best == scores.index(max(scores)) == 3, scores  # 4-good.png
    assert scores[4] < scores[3], "the smaller, softer face scores lower"
    assert burst.stills[0].fixes and "hold the camera steady and focus on the face" in burst.stills[0].fixes
    summary = burst.summary(burst.best)
    assert summary == {"size": 5, "chosen": 3, "best": 3, "chosen_quality": scores[3], "scores": scores}
    assert all(s.jpeg[:2] == b"\xff\xd8" for s in burst.stills), "held as JPEG bytes in memory"


def test_the_burst_shelf_keeps_a_burst_briefly_for_its_user_only():
    now = [0.0]
    shelf = BurstShelf(120.0, clock=lambda: now[0])
    shelf.put(7, 1, "burst")
    assert shelf.get(7, 1) == "burst" and shelf.get(7, 2) is None
    now[0] = 121.0
    assert shelf.get(7, 1) is None, "gone after keep_s"
    shelf.put(8, 1, "b")
    assert shelf.clear() == 1 and shelf.get(8, 1) is None


def test_guidance_config_keys_are_validated():
    with pytest.raises(Exception, match="burst"):
        validate_config({"camera": {"burst": 0}})
    assert validate_config({}).camera.burst == 5


def test_the_kept_still_is_one_the_gate_accepts_then_the_highest_score():
    def still(unified, verdict):
        return BurstStill(b"", (1, 1), 0 if unified is None else 1, unified, verdict, ())

    # A dark but sharp face scores high and fails "more light": a passing still is kept before it.
    assert best_of([still(92, "fail"), still(80, "pass"), still(85, "warn"), still(None, None)]) == 2
    assert best_of([still(None, None), still(30, "fail"), still(40, "fail")]) == 2
    assert best_of([still(90, "pass"), still(90, "pass")]) == 0, "the earliest on a tie"


def test_advice_from_a_preview_that_stopped_is_not_given():
    import numpy as np

    from device.camera import guide as guide_module

    now = [0.0]
    guide = Guide(lambda rgb: [], rate=10.0, clock=lambda: now[0])
    guide.offer(np.zeros((4, 4, 3), np.uint8))
    for _ in range(200):
        if guide.analysed:
            break
        threading.Event().wait(0.01)
    assert guide.latest() is not None
    now[0] = guide_module.IDLE_S + 0.5
    assert guide.latest() is None, "stale advice is withheld"
    guide.close()
