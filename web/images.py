"""Images for the screen: upright (EXIF applied), downscaled JPEG, never the stored bytes as such."""

from __future__ import annotations

import numpy as np
from flask import Response

from device.vision.align import similarity_transform, warp
from device.workflow.enhance import encode_jpeg, fit

DISPLAY_MAX_SIDE = 1280
# The comparator's face view: every face warped so the eye centres land on the same two points of
# a square (level, same scale), with room for hairline, ears and chin; two views side by side are
# then compared like for like, whatever the photos' sizes.
FACE_VIEW = 320
EYES_AT = np.array([[115.0, 135.0], [205.0, 135.0]])


def jpeg_response(data: bytes) -> Response:
    return Response(data, mimetype="image/jpeg", headers={"Cache-Control": "private, no-store"})


def display(recognizer, data: bytes, max_side: int = DISPLAY_MAX_SIDE) -> Response:
    return jpeg_response(encode_jpeg(fit(recognizer.decode(data).rgb, max_side), 88))


def face_view(recognizer, analysis, data: bytes, index: int | None) -> Response:
    """The face ``index`` of ``data`` (the largest when None), aligned on the eyes (FACE_VIEW)."""
    if not analysis.faces:
        raise ValueError("no face in this image")
    if index is None or not 0 <= index < len(analysis.faces):
        index = max(range(len(analysis.faces)), key=lambda i: _area(analysis.faces[i].box))
    face = analysis.faces[index]
    eyes = (face.points if face.points is not None else face.keypoints)[:2]
    matrix = similarity_transform(np.asarray(eyes, np.float64), EYES_AT)
    return jpeg_response(encode_jpeg(warp(recognizer.decode(data).rgb, matrix, FACE_VIEW), 90))


def _area(box) -> float:
    return float((box[2] - box[0]) * (box[3] - box[1]))


def faces_for_screen(analysis) -> list[dict]:
    """Each face's box, landmarks and quality as fractions of the picture (for SVG overlays)."""
    w, h = analysis.width, analysis.height
    out = []
    for face in analysis.faces:
        x0, y0, x1, y1 = face.box
        out.append({
            "index": face.index,
            "box": [x0 / w * 100, y0 / h * 100, (x1 - x0) / w * 100, (y1 - y0) / h * 100],
            "points": [[float(x) / w * 100, float(y) / h * 100] for x, y in face.overlay_points],
            "quality": face.quality.to_dict(),
        })  # fmt: skip
    return out
