#!/usr/bin/env python3
"""Probes of several stills: does the quality-weighted mean of 2-3 stills' embeddings raise genuine
scores without raising impostor scores? Measured on every labelled photo in tests/data.

Identities: A = obama.jpg, obama2.jpg, obama3.jpg; B = biden.jpg; C = astronaut.png. Each photo
gives stills: itself and degraded copies (mirrored, rotated, darker, JPEG q30, half and quarter
size, blurred, strongly blurred, very dark), each analysed by the unit's recognizer (largest face,
unified quality score, SFace vector); copies without a face are dropped.

Genuine: the gallery holds one A photo as is; the probe's stills come from the *other* A photos'
stills (never a copy of the gallery photo), every pair and triple of them. Impostor: the same A
probe sets against B and C; and B and C probe sets (their own copies) against every A photo.
Side by side, for each set: one still (every still of the set, the mean over them), the set's best
still by unified score (what a burst keeps), the unweighted mean of the vectors, and the
quality-weighted mean (device/workflow/stills.py: w = max(unified, 1)/100, L2-normalised).

Run: ``.venv/bin/python scripts/measure_combined.py``.
"""

from __future__ import annotations

import itertools
import statistics
import sys
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

# The labelled photos and the image edits are the alignment measurement's (same folder).
from measure_alignment import DATA, IDENTITIES, jpeg, rotate

from device.config import validate_config
from device.vision import Recognizer
from device.workflow.stills import combine

METHODS = ("one still", "best still of the set", "unweighted mean", "quality-weighted mean")


COPIES = {
    "as is": lambda x: x,
    "mirrored": lambda x: np.ascontiguousarray(x[:, ::-1]),
    "rotated 15": lambda x: rotate(x, 15),
    "darker x0.5": lambda x: (x * 0.5).astype(np.uint8),
    "very dark x0.25": lambda x: (x * 0.25).astype(np.uint8),
    "jpeg q30": lambda x: jpeg(x, 30),
    "half size": lambda x: cv2.resize(x, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA),
    "quarter size": lambda x: cv2.resize(x, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA),
    "blurred s2": lambda x: cv2.GaussianBlur(x, (0, 0), 2.0),
    "blurred s5": lambda x: cv2.GaussianBlur(x, (0, 0), 5.0),
}


def stills(recognizer) -> list[dict]:
    out = []
    for name, who in IDENTITIES.items():
        rgb = cv2.cvtColor(cv2.imread(str(DATA / name)), cv2.COLOR_BGR2RGB)
        for copy, make in COPIES.items():
            data = cv2.imencode(".png", cv2.cvtColor(make(rgb), cv2.COLOR_RGB2BGR))[1].tobytes()
            faces = recognizer.analyze(data, require_face=False).faces
            if faces:
                face = faces[0]
                out.append({"photo": name, "who": who, "copy": copy, "unified": face.quality.unified,
                            "verdict": face.quality.verdict, "embedding": recognizer.embed(face)})  # fmt: skip
    return out


def methods(group: list[dict]) -> dict[str, list]:
    """Each way of making probe vectors from one set of stills (a list: 'one still' gives several)."""
    best = max(group, key=lambda s: s["unified"])
    plain, _ = combine([(100, s["embedding"]) for s in group])
    weighted, _ = combine([(s["unified"], s["embedding"]) for s in group])
    return {"one still": [s["embedding"] for s in group], "best still of the set": [best["embedding"]],
            "unweighted mean": [plain], "quality-weighted mean": [weighted]}  # fmt: skip


def summary(scores: list[float]) -> str:
    ordered = sorted(scores)
    p05 = ordered[round(0.05 * (len(ordered) - 1))]
    return f"{statistics.mean(scores):7.3f} {ordered[0]:7.3f} {p05:7.3f} {ordered[-1]:7.3f} {len(scores):7d}"


def main() -> int:
    recognizer = Recognizer.from_config(validate_config({}).vision)
    found = stills(recognizer)
    print(f"{len(found)} stills ({sum(s['verdict'] == 'fail' for s in found)} failing the quality gate)")
    references = {s["photo"]: s["embedding"] for s in found if s["copy"] == "as is"}
    names = list(METHODS)
    for size in (2, 3):
        genuine = {m: [] for m in names}
        impostor = {m: [] for m in names}
        weak = {m: [] for m in names}  # genuine, sets holding a still that fails the quality gate
        for ref_photo in ("obama.jpg", "obama2.jpg", "obama3.jpg"):
            pool = [s for s in found if s["who"] == "A" and s["photo"] != ref_photo]
            for group in itertools.combinations(pool, size):
                failing = any(s["verdict"] == "fail" for s in group)
                for method, vectors in methods(list(group)).items():
                    genuine[method] += [v.similarity(references[ref_photo]) for v in vectors]
                    if failing:
                        weak[method] += [v.similarity(references[ref_photo]) for v in vectors]
        a_pool = [s for s in found if s["who"] == "A" and s["photo"] == "obama2.jpg"]
        for group in itertools.combinations(a_pool, size):  # A's sets against B and C
            for method, vectors in methods(list(group)).items():
                impostor[method] += [v.similarity(references[o]) for v in vectors
                                     for o in ("biden.jpg", "astronaut.png")]  # fmt: skip
        for who in ("B", "C"):  # B's and C's sets against every A photo
            for group in itertools.combinations([s for s in found if s["who"] == who], size):
                for method, vectors in methods(list(group)).items():
                    impostor[method] += [v.similarity(references[o]) for v in vectors
                                         for o in ("obama.jpg", "obama2.jpg", "obama3.jpg")]  # fmt: skip
        print(f"\nSets of {size} stills; cosine to the gallery photo")
        print(f"{'':24} {'genuine: mean':>13} {'min':>7} {'p05':>7} {'max':>7} {'n':>7}"
              f"   {'impostor: mean':>14} {'min':>7} {'p05':>7} {'max':>7} {'n':>7}")  # fmt: skip
        for method in METHODS:
            print(f"{method:24} {'':6}{summary(genuine[method])}   {'':7}{summary(impostor[method])}")
        print(
            f"  genuine, only sets holding a still that fails the gate ({sum(s['verdict'] == 'fail' for s in found)}"
            " such stills):"
        )
        for method in METHODS:
            print(f"  {method:22} {'':6}{summary(weak[method])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
