"""A scene for the files camera source to play, made from the committed photos: blurred, dark,
turned, then good frames (the live-guidance and best-shot tests, and scripts/bench_capture.py)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from tests.vision.conftest import DATA
from tests.vision.synthetic import turn_head

# (file name, what the guidance must say about it: the fix of the failing component, or "ready")
SCENE = (
    ("1-blurred.png", "hold the camera steady and focus on the face"),
    ("2-dark.png", "more light on the face"),
    ("3-turned.png", "turn the head toward the camera"),
    ("4-good.png", "ready"),
    ("5-good-smaller.png", "ready"),
)


def _rgb(name: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(DATA / name)), cv2.COLOR_BGR2RGB)


def make_scene(recognizer, folder: Path) -> Path:
    """Write the scene's frames into ``folder`` (PNG, played in name order); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    good = _rgb("obama.jpg")
    face = recognizer.faces(good)[0]
    width = face.box[2] - face.box[0]
    frames = {
        "1-blurred.png": cv2.GaussianBlur(good, (0, 0), 0.04 * width),
        "2-dark.png": (good * 0.2).astype(np.uint8),
        "3-turned.png": turn_head(good, face.landmarks.points, 60),  # reads ~37°: past the warning
        "4-good.png": good,
        # The same face a little smaller and softer: it passes, with a lower unified score (~94 vs ~99).
        "5-good-smaller.png": cv2.GaussianBlur(
            cv2.resize(good, None, fx=0.8, fy=0.8, interpolation=cv2.INTER_AREA), (0, 0), 2.5
        ),
    }
    for name, rgb in frames.items():
        cv2.imwrite(str(folder / name), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return folder
