"""The quality gate on real photos and on mirrored, rotated, turned, blurred, tiny, dark and bright
copies of them: clear frontal faces pass, degraded ones do not, and every reason names the fix."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from device.config import VisionQualityConfig
from device.vision import Recognizer
from device.vision.pose import INDICES, OBJECT, head_pose
from device.vision.quality import _WORDS, assess
from tests.vision.conftest import PORTRAITS, encode, photo_rgb, vision_config
from tests.vision.synthetic import turn_head

# Every reason ends with what to do, in words a person at the camera can act on.
FIXES = tuple(fix for _, _, fix in _WORDS.values())


def face_of(recognizer, rgb):
    return recognizer.analyze(encode(rgb)).faces[0]


def rotated(rgb, degrees):
    height, width = rgb.shape[:2]
    return cv2.warpAffine(rgb, cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0), (width, height))


def mirrored(rgb):
    return np.ascontiguousarray(rgb[:, ::-1])


COPIES = {"as is": lambda x: x, "mirrored": mirrored, "rotated 15": lambda x: rotated(x, 15),
          "rotated -20": lambda x: rotated(x, -20)}  # fmt: skip


@pytest.mark.parametrize("name", PORTRAITS)
@pytest.mark.parametrize("copy", COPIES.values(), ids=COPIES.keys())
def test_clear_frontal_faces_and_their_mirrored_and_rotated_copies_pass(recognizer, name, copy):
    face = face_of(recognizer, copy(photo_rgb(name)))
    assert face.quality.verdict == "pass", face.quality.reasons
    assert face.quality.reasons == []
    assert face.quality.unified >= 85


@pytest.mark.parametrize("name", PORTRAITS)
def test_mirrored_face_reads_the_opposite_yaw_and_roll(recognizer, name):
    original = face_of(recognizer, photo_rgb(name)).quality
    mirror = face_of(recognizer, mirrored(photo_rgb(name))).quality
    assert abs(mirror.component("yaw_deg").value + original.component("yaw_deg").value) < 5
    assert abs(mirror.component("roll_deg").value + original.component("roll_deg").value) < 5
    assert abs(mirror.component("pitch_deg").value - original.component("pitch_deg").value) < 5


@pytest.mark.parametrize("name", PORTRAITS)
def test_rotated_face_keeps_its_yaw_and_pitch(recognizer, name):
    original = face_of(recognizer, photo_rgb(name)).quality
    turned = face_of(recognizer, rotated(photo_rgb(name), 15)).quality
    assert abs(turned.component("yaw_deg").value - original.component("yaw_deg").value) < 5
    assert abs(turned.component("pitch_deg").value - original.component("pitch_deg").value) < 5
    roll_change = turned.component("roll_deg").value - original.component("roll_deg").value
    assert abs(roll_change + 15) < 5  # counter-clockwise on screen reads as negative roll


@pytest.mark.parametrize(("yaw", "pitch", "roll"), [(0, 0, 0), (30, 0, 0), (-60, 0, 0), (0, -25, 0), (20, 15, 10)])
def test_pose_fit_recovers_the_template_turned_by_known_angles(yaw, pitch, roll):
    """The solver itself: the 3-D template projected at a known pose reads that pose back."""
    y, p, r = (math.radians(a) for a in (yaw, -pitch, roll))
    turn_y = np.array([[math.cos(y), 0, math.sin(y)], [0, 1, 0], [-math.sin(y), 0, math.cos(y)]])
    turn_x = np.array([[1, 0, 0], [0, math.cos(p), -math.sin(p)], [0, math.sin(p), math.cos(p)]])
    turn_z = np.array([[math.cos(r), -math.sin(r), 0], [math.sin(r), math.cos(r), 0], [0, 0, 1]])
    camera = (turn_z @ turn_y @ turn_x @ OBJECT.T).T * 20 + np.array([400, 300, 0])  # 20 px per cm
    points = np.zeros((468, 2))
    points[INDICES] = camera[:, :2]
    assert np.allclose(head_pose(points), (yaw, pitch, roll), atol=1.5)


@pytest.mark.parametrize("name", ["obama.jpg", "astronaut.png"])
@pytest.mark.parametrize(("yaw", "pitch"), [(30, 0), (-30, 0), (0, 15), (0, 25)])
def test_faces_turned_about_30_degrees_or_looking_down_pass(recognizer, name, yaw, pitch):
    """A frontal face re-rendered turned 30° sideways, or looking down (chin toward the chest)."""
    rgb = photo_rgb(name)
    turned = face_of(recognizer, turn_head(rgb, face_of(recognizer, rgb).landmarks.points, yaw, pitch))
    assert turned.quality.verdict == "pass", turned.quality.reasons
    if yaw:
        assert np.sign(turned.quality.component("yaw_deg").value) == np.sign(yaw)


@pytest.mark.parametrize("name", ["obama.jpg", "astronaut.png"])
def test_the_further_a_face_is_turned_the_larger_its_yaw_until_it_is_refused(recognizer, name):
    """The render flattens a turn (its texture stays the frontal photo's), so a rendered angle reads
    lower than a real head turned as far; what must hold is the order, and refusal near profile."""
    rgb = photo_rgb(name)
    points = face_of(recognizer, rgb).landmarks.points
    readings = [abs(face_of(recognizer, turn_head(rgb, points, -yaw)).quality.component("yaw_deg").value)
                for yaw in (0, 30, 60)]  # fmt: skip
    assert readings[0] < readings[1] < readings[2]
    faces = recognizer.analyze(encode(turn_head(rgb, points, -85)), require_face=False).faces
    if faces:  # not finding a face turned this far is also a refusal
        quality = faces[0].quality
        assert quality.verdict == "fail"
        assert quality.reasons and all(any(reason.endswith(fix) for fix in FIXES) for reason in quality.reasons)


def blurred(rgb, recognizer):
    box = recognizer.analyze(encode(rgb)).faces[0].box
    return cv2.GaussianBlur(rgb, (0, 0), 0.04 * (box[2] - box[0]))


def tiny(rgb, _):
    return cv2.resize(rgb, None, fx=0.1, fy=0.1, interpolation=cv2.INTER_AREA)


def dark(rgb, _):
    return (rgb * 0.2).astype(np.uint8)


@pytest.mark.parametrize(
    ("degrade", "component", "words"),
    [
        (blurred, "sharpness", "hold the camera steady"),
        (tiny, "inter_eye_px", "move closer"),
        (dark, "brightness", "more light"),
    ],
)
@pytest.mark.parametrize("name", ["obama.jpg", "biden.jpg"])
def test_degraded_photos_fail_for_the_right_reason(recognizer, name, degrade, component, words):
    face = face_of(recognizer, degrade(photo_rgb(name), recognizer))
    assert face.quality.verdict == "fail"
    assert face.quality.component(component).status == "fail"
    assert any(words in reason for reason in face.quality.reasons), face.quality.reasons
    assert face.quality.unified < face_of(recognizer, photo_rgb(name)).quality.unified


def test_overexposed_photo_fails_on_clipping(recognizer):
    face = face_of(recognizer, np.clip(photo_rgb("obama.jpg") * 2.4, 0, 255).astype(np.uint8))
    assert face.quality.verdict == "fail"
    assert face.quality.component("clipped_fraction").status == "fail"
    assert face.quality.component("brightness").status == "fail"
    assert any("less light on the face" in reason for reason in face.quality.reasons)


def test_mildly_dark_photo_warns(recognizer):
    face = face_of(recognizer, (photo_rgb("obama.jpg") * 0.35).astype(np.uint8))
    assert face.quality.verdict == "warn"
    assert face.quality.component("brightness").status == "warn"


def test_every_reason_names_its_fix():
    """Every component, pushed past its fail threshold, gives a reason that ends with the fix."""
    good = {"face_presence": 1.0, "inter_eye_px": 80, "sharpness": 200, "brightness": 128, "clipped_fraction": 0,
            "yaw_deg": 0, "pitch_deg": 0, "roll_deg": 0, "eyes_open": 0.1}  # fmt: skip
    assert assess(good, VisionQualityConfig()).verdict == "pass"
    bad = {"face_presence": 0.3, "inter_eye_px": 8, "sharpness": 3, "clipped_fraction": 0.6, "yaw_deg": -70,
           "pitch_deg": 55, "roll_deg": 60, "eyes_open": 0.01}  # fmt: skip
    for name, value in [*bad.items(), ("brightness", 10), ("brightness", 250)]:
        report = assess({**good, name: value}, VisionQualityConfig())
        (reason,) = report.reasons
        assert report.verdict == "fail" and report.unified < 100
        assert any(reason.endswith(": " + fix) for fix in FIXES), reason
    missing = assess({**good, "yaw_deg": math.nan, "pitch_deg": math.nan, "roll_deg": math.nan,
                      "eyes_open": math.nan}, VisionQualityConfig())  # fmt: skip
    assert missing.verdict == "fail" and all("cannot be measured" in r for r in missing.reasons)


def test_thresholds_come_from_config(recognizer):
    face = recognizer.analyze(encode(photo_rgb("astronaut.png"))).faces[0]
    values = {c.name: c.value for c in face.quality.components}
    # The astronaut's eyes are about 43 px apart: demand 60 and the same face fails.
    strict = VisionQualityConfig(inter_eye_px=(80.0, 60.0))
    report = assess(values, strict)
    assert report.verdict == "fail"
    assert report.reasons == [
        f"face too small, distance between the eyes: {values['inter_eye_px']:.0f} px (fail below 60 px): "
        "move closer or use a higher-resolution photo"
    ]
    strict_recognizer = Recognizer(recognizer.detector, recognizer.embedder, recognizer.max_pixels, strict,
                                   recognizer.mesh)  # fmt: skip
    assert strict_recognizer.analyze(encode(photo_rgb("astronaut.png"))).faces[0].quality.verdict == "fail"


def test_darkness_does_not_read_as_blur(recognizer):
    """Sharpness is normalised by brightness: a darker copy of a sharp face is still sharp."""
    sharp = face_of(recognizer, photo_rgb("obama.jpg")).quality.component("sharpness")
    darker = face_of(recognizer, (photo_rgb("obama.jpg") * 0.35).astype(np.uint8)).quality.component("sharpness")
    assert darker.status == "pass" and darker.value > 0.5 * sharp.value


def test_quality_config_refuses_inverted_thresholds():
    with pytest.raises(ValueError, match="fail"):
        VisionQualityConfig(sharpness=(10.0, 40.0))
    with pytest.raises(ValueError, match="fail"):
        vision_config(quality={"yaw_deg": (50.0, 40.0)})
    with pytest.raises(ValueError, match="fail"):
        vision_config(quality={"pitch_deg": (30.0, 20.0)})
