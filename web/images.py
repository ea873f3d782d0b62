"""Images for the screen: upright (EXIF applied), downscaled JPEG, never the stored bytes as such."""

from __future__ import annotations

from flask import Response

from device.workflow.enhance import encode_jpeg, fit

DISPLAY_MAX_SIDE = 1280


def jpeg_response(data: bytes) -> Response:
    return Response(data, mimetype="image/jpeg", headers={"Cache-Control": "private, no-store"})


def display(recognizer, data: bytes, max_side: int = DISPLAY_MAX_SIDE) -> Response:
    return jpeg_response(encode_jpeg(fit(recognizer.decode(data).rgb, max_side), 88))


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
