"""Probe quality (workflow step 1): is this face good enough to search with, and if not, what to fix.

Components follow ISO/IEC 29794-5 and its reference implementation OFIQ where a definition exists;
each is measured (``measure``), compared with its ``[warn, fail]`` pair from ``vision.quality``
(``assess``) and, when it does not pass, reported with a reason that says what to do about it.
The verdict is the worst component. Components (how each default was set: device/vision/calibration.md):

- inter_eye_px: distance between the eye centres (mean of each eye's 16 contour points of the face
  mesh), in pixels of the picture. OFIQ: InterEyeDistance. Lower is worse.
- sharpness: variance of the Laplacian of the aligned 112x112 crop's centre, scaled by
  (128 / mean grey)^2 so that a darker picture of the same face scores the same. (OFIQ's Sharpness
  is a random forest over filter responses, not reproducible without its trained forest; this is the
  classic focus measure it builds on.) Lower is worse.
- brightness: mean grey of the crop's centre, 0..255. OFIQ: LuminanceMean (there on 0..1, good
  between about 0.2 and 0.8, i.e. 51..204 here). Too low or too high is worse.
- clipped_fraction: share of the crop's centre at <= 4 or >= 251. OFIQ: Under/OverExposurePrevention.
- yaw_deg, pitch_deg, roll_deg: head pose from a 3-D template fit to the face mesh (cv2.solvePnP,
  device/vision/pose.py). OFIQ: HeadPoseYaw/Pitch/Roll (there from a 3-D morphable-model fit; its
  score is 100 cos^2(angle)). Larger magnitude is worse.
- eyes_open: OFIQ's EyesOpen raw value: the smaller eye's largest eyelid distance divided by the
  distance from the eyes' midpoint to the mouth's midpoint. Lower is worse. It sees what the face
  mesh's eyelid points see, which is not every closed eye (calibration.md).
- face_presence: the face-mesh model's probability that its crop holds a face (a covered, cut-off
  or turned-away face reads low; below 0.5 there are no landmarks and pose/eyes cannot be measured).

The unified score (0-100) predicts how much of the face's identity signal survives in this photo:
it is 100 x the product, over components, of the expected cosine similarity between this face's
SFace vector and the vector of a clean capture of the same photo (``retention``), measured by
degrading clean photos step by step (calibration.md). 100 = nothing lost; 80 = genuine scores
expected about 20% lower than a clean photo would give, so a true match is likelier to fall below
the "worth examining" line. Pose has no such synthetic measurement (a photo cannot be turned), so
yaw and pitch use OFIQ's cos^2 mapping. ``fieldface evaluate`` checks the prediction on the
agency's own photos with error-versus-discard curves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from device.config import VisionQualityConfig
from device.vision.retention import SAME_CAUSE, retention

PASS, WARN, FAIL = "pass", "warn", "fail"
_RANK = {PASS: 0, WARN: 1, FAIL: 2}
# The centre of the aligned crop: the face itself, without the background corners of the warp.
_CENTRE = (slice(16, 104), slice(20, 92))
_DARK, _BRIGHT = 4, 251


@dataclass(frozen=True)
class Component:
    name: str
    value: float
    status: str  # pass | warn | fail
    reason: str  # empty when it passes
    score: int = 100  # 0..100, higher is better (the component's share of the unified score)
    fix: str = ""  # what to do, the end of ``reason`` ("move closer"): live capture guidance shows it

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "value": None if math.isnan(self.value) else round(self.value, 4),
            "status": self.status,
            "reason": self.reason,
            "score": self.score,
            "fix": self.fix,
        }


@dataclass(frozen=True)
class QualityReport:
    verdict: str  # worst component status
    components: tuple[Component, ...]
    unified: int = 100  # 0..100: predicted share of identity signal kept (module docstring)

    @property
    def reasons(self) -> list[str]:
        return [c.reason for c in self.components if c.reason]

    def component(self, name: str) -> Component:
        return next(c for c in self.components if c.name == name)

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "unified": self.unified,
            "reasons": self.reasons,
            "components": [c.to_dict() for c in self.components],
        }


def measure(aligned_rgb: np.ndarray, eyes: np.ndarray, pose: tuple[float, float, float], eyes_open: float,
            presence: float) -> dict[str, float]:  # fmt: skip
    """Every component's raw value for one face. ``eyes``: (2, 2) eye centres in picture pixels
    (subject's right, then left); ``pose``: (yaw, pitch, roll) degrees, NaN when not measurable."""
    grey = cv2.cvtColor(aligned_rgb, cv2.COLOR_RGB2GRAY)[_CENTRE]
    mean = float(grey.mean())
    yaw, pitch, roll = pose
    return {
        "face_presence": float(presence),
        "inter_eye_px": float(np.linalg.norm(np.asarray(eyes[1], float) - np.asarray(eyes[0], float))),
        "sharpness": float(cv2.Laplacian(grey, cv2.CV_64F).var() * (128.0 / max(mean, 1.0)) ** 2),
        "brightness": mean,
        "clipped_fraction": float(((grey <= _DARK) | (grey >= _BRIGHT)).mean()),
        "yaw_deg": float(yaw),
        "pitch_deg": float(pitch),
        "roll_deg": float(roll),
        "eyes_open": float(eyes_open),
    }


# What each component says, and the fix, when it does not pass: (what, unit, fix).
_WORDS = {
    "face_presence": ("face not clearly visible, confidence", "",
                      "photograph the whole face, uncovered and facing the camera"),
    "inter_eye_px": ("face too small, distance between the eyes", " px",
                     "move closer or use a higher-resolution photo"),
    "sharpness": ("face blurred, sharpness", "", "hold the camera steady and focus on the face"),
    "brightness_low": ("face too dark, mean grey", "", "more light on the face"),
    "brightness_high": ("face too bright, mean grey", "", "less light on the face, no direct flash"),
    "clipped_fraction": ("face over- or under-exposed, share of clipped pixels", "",
                         "even, softer light on the face"),
    "yaw_deg": ("head turned sideways, yaw", "°", "turn the head toward the camera"),
    "pitch_deg": ("head tilted up or down, pitch", "°", "camera at eye level, look straight at it"),
    "roll_deg": ("head tilted sideways, roll", "°", "hold the head upright"),
    "eyes_open": ("eyes closed or nearly, eye opening", "", "eyes open, looking at the camera"),
}  # fmt: skip
# Components whose magnitude is judged (signed angles), and those where a higher value is worse.
_MAGNITUDE = {"yaw_deg", "pitch_deg", "roll_deg"}
_HIGHER_WORSE = {"brightness_high", "clipped_fraction", *_MAGNITUDE}


def _judge(key: str, name: str, value: float, bounds: tuple[float, float]) -> Component:
    what, unit, fix = _WORDS[key]
    if math.isnan(value):
        return Component(name, value, FAIL, f"{what}: cannot be measured (no face landmarks): {fix}", fix=fix)
    judged = abs(value) if key in _MAGNITUDE else value
    warn, fail = bounds
    if key in _HIGHER_WORSE:
        status = FAIL if judged > fail else WARN if judged > warn else PASS
        side = "above"
    else:
        status = FAIL if judged < fail else WARN if judged < warn else PASS
        side = "below"
    if status == PASS:
        return Component(name, value, PASS, "")
    limit = fail if status == FAIL else warn
    digits = 2 if abs(judged) < 10 else 0
    reason = f"{what}: {judged:.{digits}f}{unit} ({status} {side} {limit:g}{unit}): {fix}"
    return Component(name, value, status, reason, fix=fix)


def assess(values: dict[str, float], thresholds: VisionQualityConfig) -> QualityReport:
    """Compare measured values with the thresholds; the verdict is the worst component."""
    brightness = values["brightness"]
    low = _judge("brightness_low", "brightness", brightness, thresholds.brightness_low)
    high = _judge("brightness_high", "brightness", brightness, thresholds.brightness_high)
    components = [
        _judge("face_presence", "face_presence", values["face_presence"], thresholds.face_presence),
        _judge("inter_eye_px", "inter_eye_px", values["inter_eye_px"], thresholds.inter_eye_px),
        _judge("sharpness", "sharpness", values["sharpness"], thresholds.sharpness),
        low if _RANK[low.status] >= _RANK[high.status] else high,
        _judge("clipped_fraction", "clipped_fraction", values["clipped_fraction"], thresholds.clipped_fraction),
        _judge("yaw_deg", "yaw_deg", values["yaw_deg"], thresholds.yaw_deg),
        _judge("pitch_deg", "pitch_deg", values["pitch_deg"], thresholds.pitch_deg),
        _judge("roll_deg", "roll_deg", values["roll_deg"], thresholds.roll_deg),
        _judge("eyes_open", "eyes_open", values["eyes_open"], thresholds.eyes_open),
    ]
    if components[0].status == FAIL:
        # No face landmarks: say so once (face_presence), not once per measure that needs them.
        components = [Component(c.name, c.value, c.status, "") if math.isnan(c.value) else c for c in components]
    kept = {c.name: retention(c.name, c.value) for c in components}
    components = [Component(c.name, c.value, c.status, c.reason, round(100 * kept[c.name]), c.fix) for c in components]
    exposure = min(kept.pop(name) for name in SAME_CAUSE)
    unified = round(100 * exposure * math.prod(kept.values()))
    verdict = max((c.status for c in components), key=_RANK.__getitem__)
    return QualityReport(verdict, tuple(components), unified)
