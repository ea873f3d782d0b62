"""Each quality component's value -> expected share of identity signal kept (0..1).

A curve is a list of knots (value, expected cosine similarity between the SFace vector of a face so
degraded and that of the clean capture), linearly interpolated and clamped at both ends. The knots
are the medians measured by ``python -m device.vision.calibrate`` (device/vision/calibration.md):
they describe SFace with fieldface's alignment; an agency that changes the embedder re-measures.
Pose angles use OFIQ's mapping, cos^2(angle): a photo cannot be turned synthetically, so there is
no drift measurement for yaw and pitch. Roll is undone by alignment (measured: calibration.md).
"""

from __future__ import annotations

import math

import numpy as np

CURVES: dict[str, list[tuple[float, float]]] = {
    "inter_eye_px": [(9.0, 0.79), (12.0, 0.91), (16.0, 0.962), (20.0, 0.98), (24.0, 0.987), (32.0, 0.994),
                     (48.0, 1.0)],
    "sharpness": [(5.4, 0.61), (9.2, 0.76), (18.8, 0.88), (31.4, 0.935), (68.0, 0.972), (176.0, 0.996),
                  (250.0, 1.0)],
    "brightness": [(16.6, 0.87), (23.0, 0.91), (32.5, 0.93), (45.6, 0.953), (65.6, 0.978), (91.6, 0.989),
                   (110.0, 1.0), (170.0, 1.0), (190.0, 0.947), (205.0, 0.878), (220.0, 0.805), (238.0, 0.729)],
    "clipped_fraction": [(0.02, 1.0), (0.19, 0.947), (0.25, 0.878), (0.37, 0.805), (0.58, 0.729)],
    "roll_deg": [(0.0, 1.0), (30.0, 0.99), (45.0, 0.97), (60.0, 0.93), (90.0, 0.8)],
    "face_presence": [(0.0, 0.0), (0.5, 0.5), (0.7, 0.9), (0.9, 1.0)],
}  # fmt: skip
# OFIQ EyesOpen: sigmoid centred at 0.02, width 0.01 (its default parameters).
_EYES_X0, _EYES_W = 0.02, 0.01


# Brightness and clipping measure one thing from two sides (over-exposure raises both): the unified
# score counts them once, as the worse of the two.
SAME_CAUSE = ("brightness", "clipped_fraction")


def retention(name: str, value: float) -> float:
    """Expected share of identity signal kept for component ``name`` at ``value`` (NaN: 0)."""
    if math.isnan(value):
        return 0.0
    if name in ("yaw_deg", "pitch_deg"):
        return math.cos(math.radians(min(abs(value), 90.0))) ** 2
    if name == "eyes_open":
        return 1.0 / (1.0 + math.exp((_EYES_X0 - value) / _EYES_W))
    knots = CURVES[name]
    if name == "roll_deg":
        value = abs(value)
    xs, ys = zip(*knots, strict=True)
    return float(np.interp(value, xs, ys))
