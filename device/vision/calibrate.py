"""Calibrate the quality gate on clean photos: degrade each step by step, record every component and
how far the face's SFace vector drifts from the clean one (cosine similarity).

    python -m device.vision.calibrate photo.jpg ...    # one clear, frontal face per photo

Prints one line per (degradation, level): the median component value and the median cosine to
the clean capture, with min-max over the photos. device/vision/calibration.md records the run the
shipped thresholds and retention curves (device/vision/retention.py) come from; an agency re-runs
it on its own clean photos to check them. Pose is checked separately: a mirrored photo must read
the opposite yaw, a rotated one the same yaw (printed at the end).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from device.config import VisionConfig
from device.vision.recognizer import Recognizer


def _png(rgb: np.ndarray) -> bytes:
    return cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))[1].tobytes()


def _rotate(rgb: np.ndarray, degrees: float) -> np.ndarray:
    height, width = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(rgb, matrix, (width, height))


def degradations(face_width: float, inter_eye: float) -> dict[str, list[tuple[str, Callable]]]:
    """Per kind, (level, function of the clean RGB picture) from mild to severe."""

    def blur(f):
        return lambda x: cv2.GaussianBlur(x, (0, 0), f * face_width)

    def shrink(target):
        return lambda x: cv2.resize(x, None, fx=target / inter_eye, fy=target / inter_eye, interpolation=cv2.INTER_AREA)

    def gain(g):
        return lambda x: np.clip(x.astype(np.float32) * g, 0, 255).astype(np.uint8)

    def turn(d):
        return lambda x: _rotate(x, d)

    return {
        "blur sigma/face width": [(f"{f:.1%}", blur(f)) for f in (0.005, 0.01, 0.015, 0.02, 0.03, 0.04)],
        "shrunk to eye distance px": [(f"{t}", shrink(t)) for t in (48, 32, 24, 20, 16, 12, 9)],
        "darkened x": [(f"{g}", gain(g)) for g in (0.7, 0.5, 0.35, 0.25, 0.18, 0.12)],
        "brightened x": [(f"{g}", gain(g)) for g in (1.3, 1.6, 2.0, 2.4, 3.0)],
        "rotated deg": [(f"{d}", turn(d)) for d in (15, 30, 45, 60)],
    }


def run(recognizer: Recognizer, photos: list[tuple[str, np.ndarray]]) -> list[str]:
    rows: dict[tuple[str, str], list[tuple[dict, float]]] = {}
    pose_lines = []
    for name, rgb in photos:
        clean = recognizer.analyze(_png(rgb)).faces[0]
        vector = recognizer.embed(clean).vector
        x0, _, x1, _ = clean.box
        values = {c.name: c.value for c in clean.quality.components}
        for kind, levels in degradations(x1 - x0, values["inter_eye_px"]).items():
            for level, fn in levels:
                faces = recognizer.analyze(_png(fn(rgb)), require_face=False).faces
                if not faces:
                    rows.setdefault((kind, level), []).append(({}, float("nan")))
                    continue
                face = faces[0]
                cosine = float(recognizer.embed(face).vector @ vector)
                rows.setdefault((kind, level), []).append(({c.name: c.value for c in face.quality.components}, cosine))
        mirrored = recognizer.analyze(_png(np.ascontiguousarray(rgb[:, ::-1]))).faces[0]
        turned = recognizer.analyze(_png(_rotate(rgb, 15))).faces[0]
        yaw = values["yaw_deg"]
        pose_lines.append(
            f"{name}: yaw {yaw:+.1f}, mirrored {mirrored.quality.component('yaw_deg').value:+.1f}, rotated 15° "
            f"{turned.quality.component('yaw_deg').value:+.1f}; pitch {values['pitch_deg']:+.1f}"
        )
    lines = []
    for (kind, level), found in rows.items():
        measured = [(v, c) for v, c in found if v]
        missed = len(found) - len(measured)
        if not measured:
            lines.append(f"{kind} {level}: no face found in any photo")
            continue
        cos = np.array([c for _, c in measured])
        parts = [f"{kind} {level}: cosine median {np.median(cos):.3f} ({cos.min():.3f}-{cos.max():.3f})"]
        for component in ("inter_eye_px", "sharpness", "brightness", "clipped_fraction", "roll_deg", "eyes_open"):
            vals = np.array([v[component] for v, _ in measured])
            parts.append(f"{component} {np.median(vals):.3g} ({vals.min():.3g}-{vals.max():.3g})")
        parts.append("verdicts " + "/".join(sorted({recognizer_verdict(v, recognizer) for v, _ in measured})))
        if missed:
            parts.append(f"no face in {missed}")
        lines.append("; ".join(parts))
    return lines + pose_lines


def recognizer_verdict(values: dict, recognizer: Recognizer) -> str:
    from device.vision.quality import assess

    return assess(values, recognizer.quality_thresholds).verdict


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    recognizer = Recognizer.from_config(VisionConfig())
    photos = []
    for path in argv:
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            print(f"calibrate: {path}: not a readable image", file=sys.stderr)
            return 2
        photos.append((Path(path).name, cv2.cvtColor(image, cv2.COLOR_BGR2RGB)))
    for line in run(recognizer, photos):
        print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
