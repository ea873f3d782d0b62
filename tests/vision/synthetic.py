"""Synthetic test pictures made from the committed photos: a head turned in 3-D, group photos.

``turn_head`` re-renders a face as if the head had turned: the face mesh's 468 points (x, y and
relative depth z) are rotated about the head's centre and every mesh triangle's texture is warped to
its new place, far triangles first (so the near side hides the far side). The face's old area is
first filled with its mean colour, so no ghost of the frontal face remains. It is a rendering of the
face surface only (hair and ears stay put), good enough to turn a clear frontal face by a known angle.
"""

from __future__ import annotations

import math

import cv2
import numpy as np


def _triangles(points: np.ndarray, width: int, height: int) -> np.ndarray:
    subdiv = cv2.Subdiv2D((0, 0, width, height))
    index = {}
    for i, (x, y) in enumerate(points):
        key = (float(min(max(x, 0), width - 1)), float(min(max(y, 0), height - 1)))
        index.setdefault(key, i)
        subdiv.insert(key)
    out = []
    for x0, y0, x1, y1, x2, y2 in subdiv.getTriangleList():
        ids = [index.get((float(x), float(y))) for x, y in ((x0, y0), (x1, y1), (x2, y2))]
        if None not in ids:
            out.append(ids)
    return np.array(out, int)


def turn_head(rgb: np.ndarray, points: np.ndarray, yaw_deg: float = 0.0, pitch_deg: float = 0.0) -> np.ndarray:
    """``rgb`` with the face whose (468, 3) mesh ``points`` are given turned by yaw (about the
    vertical axis) and pitch (about the horizontal axis, positive: chin down)."""
    height, width = rgb.shape[:2]
    tri = _triangles(points[:, :2], width, height)
    centre = points.mean(axis=0)
    local = points - centre
    local[:, 2] -= 0.35 * np.ptp(local[:, 0])  # pivot behind the face surface (z grows away from the camera)
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    turn_y = np.array([[math.cos(yaw), 0, math.sin(yaw)], [0, 1, 0], [-math.sin(yaw), 0, math.cos(yaw)]])
    turn_x = np.array([[1, 0, 0], [0, math.cos(pitch), -math.sin(pitch)], [0, math.sin(pitch), math.cos(pitch)]])
    moved = local @ (turn_x @ turn_y).T
    moved[:, 2] += 0.35 * np.ptp(points[:, 0])
    moved += centre
    out = rgb.copy()
    hull = cv2.convexHull(points[:, :2].astype(np.float32)).astype(np.int32)
    mask = np.zeros((height, width), np.uint8)
    cv2.fillConvexPoly(mask, hull, 255)
    out[mask > 0] = np.array(cv2.mean(rgb, mask=mask)[:3], np.uint8)
    # Far triangles first (z grows away from the camera), near ones painted over them.
    order = np.argsort(-moved[tri, 2].mean(axis=1))
    for ids in tri[order]:
        src, dst = points[ids, :2].astype(np.float32), moved[ids, :2].astype(np.float32)
        if abs(cv2.contourArea(dst)) < 0.5:
            continue
        x, y, w, h = cv2.boundingRect(dst)
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + w + 1, width), min(y + h + 1, height)
        if x1 <= x0 or y1 <= y0:
            continue
        matrix = cv2.getAffineTransform(src, dst - np.array([x0, y0], np.float32))
        patch = cv2.warpAffine(rgb, matrix, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        tri_mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillConvexPoly(tri_mask, np.round(dst - [x0, y0]).astype(np.int32), 255)
        region = out[y0:y1, x0:x1]
        region[tri_mask > 0] = patch[tri_mask > 0]
    return out


def group_photo(faces: list[np.ndarray], width: int, inter_eye_px: list[float], eyes: list[float],
                seed: int = 0) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:  # fmt: skip
    """A grey canvas ``width`` wide with each face picture shrunk so its eyes are ``inter_eye_px``
    apart (``eyes``: each picture's own eye distance) and pasted on a grid; returns the canvas and
    each pasted picture's rectangle (x0, y0, x1, y1)."""
    rng = np.random.default_rng(seed)
    height = width * 3 // 4
    canvas = np.full((height, width, 3), 118, np.uint8)
    canvas += rng.integers(0, 12, canvas.shape, dtype=np.uint8)
    cols = math.ceil(math.sqrt(len(faces) * 4 / 3))
    cell_w, cell_h = width // cols, height // math.ceil(len(faces) / cols)
    rects = []
    for i, (face, target, own) in enumerate(zip(faces, inter_eye_px, eyes, strict=True)):
        scale = target / own
        small = cv2.resize(face, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        small = small[: cell_h - 4, : cell_w - 4]
        row, col = divmod(i, cols)
        x0, y0 = col * cell_w + 2, row * cell_h + 2
        canvas[y0 : y0 + small.shape[0], x0 : x0 + small.shape[1]] = small
        rects.append((x0, y0, x0 + small.shape[1], y0 + small.shape[0]))
    return canvas, rects
