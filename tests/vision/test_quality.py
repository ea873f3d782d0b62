"""Quality verdicts on real photos and on blurred, tiny, dark and bright versions of them."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from device.config import VisionQualityConfig
from device.vision import Recognizer
from device.vision.quality import assess
from tests.vision.conftest import PORTRAITS, encode, photo_rgb, vision_config


def face_of(recognizer, rgb):
    return recognizer.analyze(encode(rgb)).faces[0]


@pytest.mark.parametrize("name", PORTRAITS)
def test_good_photos_pass(recognizer, name):
    face = face_of(recognizer, photo_rgb(name))
    assert face.quality.verdict == "pass", face.quality.reasons
    assert face.quality.reasons == []


def blurred(rgb, recognizer):
    width = recognizer.analyze(encode(rgb)).faces[0].box
    return cv2.GaussianBlur(rgb, (0, 0), 0.04 * (width[2] - width[0]))


def tiny(rgb, _):
    return cv2.resize(rgb, None, fx=0.1, fy=0.1, interpolation=cv2.INTER_AREA)


def dark(rgb, _):
    return (rgb * 0.2).astype(np.uint8)


@pytest.mark.parametrize(
    ("degrade", "component", "words"),
    [
        (blurred, "sharpness", "face blurred"),
        (tiny, "inter_eye_px", "face too small"),
        (dark, "brightness", "face too dark"),
    ],
)
@pytest.mark.parametrize("name", ["obama.jpg", "biden.jpg"])
def test_degraded_photos_fail_for_the_right_reason(recognizer, name, degrade, component, words):
    rgb = photo_rgb(name)
    face = face_of(recognizer, degrade(rgb, recognizer))
    assert face.quality.verdict == "fail"
    assert face.quality.component(component).status == "fail"
    assert any(words in reason for reason in face.quality.reasons), face.quality.reasons


def test_overexposed_photo_fails_on_clipping(recognizer):
    face = face_of(recognizer, np.clip(photo_rgb("obama.jpg") * 2.4, 0, 255).astype(np.uint8))
    assert face.quality.verdict == "fail"
    assert face.quality.component("clipped_fraction").status == "fail"
    assert face.quality.component("brightness").status == "fail"
    assert any("face too bright" in reason for reason in face.quality.reasons)


def test_mildly_dark_photo_warns(recognizer):
    face = face_of(recognizer, (photo_rgb("obama.jpg") * 0.35).astype(np.uint8))
    assert face.quality.verdict == "warn"
    assert face.quality.component("brightness").status == "warn"


def test_thresholds_come_from_config(recognizer):
    face = recognizer.analyze(encode(photo_rgb("astronaut.png"))).faces[0]
    values = {c.name: c.value for c in face.quality.components}
    # The astronaut's eyes are 46 px apart: demand 60 and the same face fails.
    strict = VisionQualityConfig(inter_eye_px=(80.0, 60.0))
    report = assess({**values, "yaw_deg": 0.0, "roll_deg": 0.0}, strict)
    assert report.verdict == "fail"
    assert report.reasons == [
        f"face too small, distance between the eyes: {values['inter_eye_px']:.0f} px (fail below 60 px)"
    ]
    strict_recognizer = Recognizer(recognizer.detector, recognizer.embedder, recognizer.max_pixels, strict)
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
