"""Vision helpers: photos, encoders, the vision config (the session `recognizer` is in tests/conftest.py).

``FIELDFACE_INTERPRETER`` picks the interpreter package (default "auto": whichever is installed);
scripts/test runs this folder a second time in a venv that has tflite-runtime instead of
ai-edge-litert, with FIELDFACE_INTERPRETER=tflite-runtime.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from device.config import VisionConfig

DATA = Path(__file__).resolve().parent.parent / "data"
PORTRAITS = ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg", "astronaut.png")


def vision_config(**overrides) -> VisionConfig:
    return VisionConfig(interpreter=os.environ.get("FIELDFACE_INTERPRETER", "auto"), **overrides)


def photo_bytes(name: str) -> bytes:
    return (DATA / name).read_bytes()


def photo_rgb(name: str) -> np.ndarray:
    return cv2.cvtColor(cv2.imread(str(DATA / name), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)


def encode(rgb: np.ndarray, ext: str = ".png", params: tuple = ()) -> bytes:
    ok, buffer = cv2.imencode(ext, cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), list(params))
    assert ok
    return buffer.tobytes()
