"""Probe quality (workflow step 1): is this face good enough to search with, and if not, why not.

Each component is measured, compared with its ``[warn, fail]`` thresholds from ``vision.quality``
and reported with its value; the overall verdict is the worst component, with one human-readable
reason per component that did not pass.

How the default thresholds were calibrated (re-run the same way on an agency's own photos; the
numbers below are from the five real portraits in tests/data, faces 46-131 px between the eyes):
each photo was analysed as it is and again after each degradation a poor probe shows, recording
every component (``measure``) and the cosine similarity of the degraded face's embedding to the
original's. Thresholds sit where the embedding starts to drift (warn, cosine below ~0.95) and where it
is no longer trustworthy (fail, below ~0.8):
- sharpness: variance of the Laplacian on the aligned crop's centre, scaled by (128 / mean grey)^2
  so that a darker picture of the same face scores the same (the raw variance falls with the square
  of the brightness; unscaled, every dark photo would also read as blurred). Originals 264-494;
  Gaussian blur of sigma 1% of the face width (cosine 0.95-0.97) 51-74; 2% (cosine 0.80-0.88)
  12-22; 3% (cosine 0.66-0.78) 5-11. Warn 40, fail 12.
- inter-eye distance: the template puts the eyes 35 px apart; the same faces shrunk to 23-32 px
  keep cosine 0.97-1.0, to 10-16 px 0.87-0.95 and 7-11 px 0.42-0.78. Warn 32 px, fail 16 px.
- brightness (mean grey of the crop's centre): originals 110-158; scaled to 50% 55-78 (cosine
  0.96-0.98), to 35% 38-54 (0.92-0.97), to 20% 22-31 (0.78-0.94). Low warn 60 / fail 35. Brightened
  1.6x: 170-224 (0.63-0.96), 2.2x: 209-240 (0.57-0.87): high warn 190 / fail 220.
- clipped fraction (pixels <= 4 or >= 251 in the crop's centre): originals <= 0.01; brightened
  0.03-0.63, the worst embeddings above 0.3. Warn 0.10, fail 0.30.
- yaw, from the nose tip's offset between the ear keypoints: a coarse estimate (the ear points are
  the detector's least precise); the originals, frontal to slightly turned, read 0-27 degrees.
  Warn 30, fail 45. Roll, from the eye line: alignment undoes it (rotating a photo 35 degrees kept
  cosine 0.89-0.97), so it only warns at 20 and fails at 40, where other pose problems come with it.
- detection confidence: originals 0.74-0.91, over-exposed copies 0.69-0.77. Warn 0.7, fail 0.65
  (the detector itself drops faces below vision.min_detection_score, 0.6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from device.config import VisionQualityConfig

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

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "value": round(self.value, 4),
            "status": self.status,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class QualityReport:
    verdict: str  # worst component status
    components: tuple[Component, ...]

    @property
    def reasons(self) -> list[str]:
        return [c.reason for c in self.components if c.reason]

    def component(self, name: str) -> Component:
        return next(c for c in self.components if c.name == name)

    def to_dict(self) -> dict:
        return {
            "verdict": self.verdict,
            "reasons": self.reasons,
            "components": [c.to_dict() for c in self.components],
        }


def measure(aligned_rgb: np.ndarray, keypoints: np.ndarray, score: float) -> dict[str, float]:
    """Every component's raw value for one face (keypoints in full-picture pixels)."""
    grey = cv2.cvtColor(aligned_rgb, cv2.COLOR_RGB2GRAY)[_CENTRE]
    mean = float(grey.mean())
    right_eye, left_eye, nose, _, right_ear, left_ear = keypoints.astype(np.float64)
    eye_vector = left_eye - right_eye
    roll = math.degrees(math.atan2(eye_vector[1], eye_vector[0]))
    # Yaw: the nose tip's sideways offset from the midpoint of the ears, measured along the ear
    # line and relative to half the ear distance (0 frontal, +-1 when the nose is at an ear).
    ear_vector = left_ear - right_ear
    half_width = np.linalg.norm(ear_vector) / 2
    offset = float(np.dot(nose - (left_ear + right_ear) / 2, ear_vector / max(2 * half_width, 1e-6)))
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, offset / max(half_width, 1e-6)))))
    return {
        "score": float(score),
        "inter_eye_px": float(np.linalg.norm(eye_vector)),
        "sharpness": float(cv2.Laplacian(grey, cv2.CV_64F).var() * (128.0 / max(mean, 1.0)) ** 2),
        "brightness": mean,
        "clipped_fraction": float(((grey <= _DARK) | (grey >= _BRIGHT)).mean()),
        "yaw_deg": yaw,
        "roll_deg": roll,
    }


def _lower_is_worse(name: str, value: float, bounds: tuple[float, float], what: str, unit: str = "") -> Component:
    warn, fail = bounds
    status = FAIL if value < fail else WARN if value < warn else PASS
    limit = fail if status == FAIL else warn
    reason = f"{what}: {value:.{_digits(value)}f}{unit} ({status} below {limit:g}{unit})" if status != PASS else ""
    return Component(name, value, status, reason)


def _higher_is_worse(name: str, value: float, bounds: tuple[float, float], what: str, unit: str = "") -> Component:
    warn, fail = bounds
    status = FAIL if value > fail else WARN if value > warn else PASS
    limit = fail if status == FAIL else warn
    reason = f"{what}: {value:.{_digits(value)}f}{unit} ({status} above {limit:g}{unit})" if status != PASS else ""
    return Component(name, value, status, reason)


def _digits(value: float) -> int:
    return 2 if abs(value) < 10 else 0


def assess(values: dict[str, float], thresholds: VisionQualityConfig) -> QualityReport:
    """Compare measured values with the thresholds; the verdict is the worst component."""
    brightness = values["brightness"]
    low = _lower_is_worse("brightness", brightness, thresholds.brightness_low, "face too dark, mean grey")
    high = _higher_is_worse("brightness", brightness, thresholds.brightness_high, "face too bright, mean grey")
    components = (
        _lower_is_worse("score", values["score"], thresholds.score, "detector unsure, confidence"),
        _lower_is_worse(
            "inter_eye_px",
            values["inter_eye_px"],
            thresholds.inter_eye_px,
            "face too small, distance between the eyes",
            " px",
        ),
        _lower_is_worse(
            "sharpness",
            values["sharpness"],
            thresholds.sharpness,
            "face blurred, sharpness (variance of Laplacian)",
        ),
        low if _RANK[low.status] >= _RANK[high.status] else high,
        _higher_is_worse(
            "clipped_fraction",
            values["clipped_fraction"],
            thresholds.clipped_fraction,
            "face over- or under-exposed, fraction of clipped pixels",
        ),
        _higher_is_worse("yaw_deg", abs(values["yaw_deg"]), thresholds.yaw_deg, "head turned sideways, yaw", "°"),
        _higher_is_worse("roll_deg", abs(values["roll_deg"]), thresholds.roll_deg, "head tilted, roll", "°"),
    )
    verdict = max((c.status for c in components), key=_RANK.__getitem__)
    return QualityReport(verdict, components)
