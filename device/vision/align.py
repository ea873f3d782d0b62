"""Alignment: a similarity transform from five face points onto the ArcFace 112x112 template.

SFace (like ArcFace-family models) was trained on faces warped onto this five-point template (eye
centres, nose tip, mouth corners); its embeddings are only comparable for faces aligned the same
way. The points come from the face-mesh landmarks (device/vision/landmarks.py); when the mesh finds
no face, BlazeFace's four keypoints stand in (its mouth centre matched to the mean of the corners).
"""

from __future__ import annotations

import cv2
import numpy as np

ALIGNED_SIZE = 112
# Image left to right: subject's right eye, left eye, nose tip, right mouth corner, left mouth corner.
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    np.float64,
)


def template_for(points: np.ndarray) -> np.ndarray:
    """The template rows matching ``points``: five points as they are; four (BlazeFace: eyes, nose,
    mouth centre) against the eyes, nose and the mean of the two mouth corners."""
    if len(points) >= 5:
        return ARCFACE_TEMPLATE
    return np.vstack([ARCFACE_TEMPLATE[:3], ARCFACE_TEMPLATE[3:].mean(axis=0)])


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares rotation + uniform scale + translation mapping src onto dst (Umeyama 1991),
    as a 2x3 matrix. Closed form: deterministic, unlike cv2.estimateAffinePartial2D's RANSAC."""
    src = np.asarray(src, np.float64)
    dst = np.asarray(dst, np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    cov = dst_c.T @ src_c / len(src)
    u, sigma, vt = np.linalg.svd(cov)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:  # a reflection is not a similarity
        sign[1, 1] = -1
    rotation = u @ sign @ vt
    variance = (src_c**2).sum() / len(src)
    scale = float(np.trace(np.diag(sigma) @ sign) / variance) if variance > 0 else 1.0
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - matrix[:, :2] @ src_mean
    return matrix


def warp(rgb: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """The ``size`` x ``size`` crop that the 2x3 ``matrix`` maps the picture onto.

    A region much larger than the crop is first shrunk with area averaging (only the part the crop
    needs), because a bilinear warp that skips most source pixels aliases fine texture, which would
    make a sharp large face look noisy to the models and to the sharpness measure.
    """
    scale = float(np.hypot(matrix[0, 0], matrix[0, 1]))
    if scale < 0.5:
        inverse = cv2.invertAffineTransform(matrix)
        corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]])
        region = corners @ inverse.T
        height, width = rgb.shape[:2]
        x0, y0 = np.clip(np.floor(region.min(axis=0)).astype(int) - 2, 0, [width, height])
        x1, y1 = np.clip(np.ceil(region.max(axis=0)).astype(int) + 2, 0, [width, height])
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            small_w, small_h = max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))
            crop = cv2.resize(rgb[y0:y1, x0:x1], (small_w, small_h), interpolation=cv2.INTER_AREA)
            # A point p of the picture is (p - origin) * shrink in the crop; fold that into the warp.
            shrink = np.array([small_w / (x1 - x0), small_h / (y1 - y0)])
            local = matrix.copy()
            local[:, 2] = matrix[:, :2] @ np.array([x0, y0]) + matrix[:, 2]
            local[:, :2] = matrix[:, :2] / shrink
            matrix, rgb = local, crop
    return cv2.warpAffine(
        rgb, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0)
    )


def alignment_matrix(points: np.ndarray) -> np.ndarray:
    """The 2x3 similarity taking picture pixels onto the 112x112 template (5 or 4 points)."""
    points = np.asarray(points, np.float64)
    if points.shape not in ((5, 2), (4, 2)):
        raise ValueError(f"alignment needs 5 face points (or BlazeFace's first 4), got shape {points.shape}")
    return similarity_transform(points, template_for(points))


def align_face(rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The 112x112 RGB face crop, warped from the full-resolution picture by five face points
    (eye centres, nose tip, mouth corners) or BlazeFace's four."""
    return warp(rgb, alignment_matrix(points), ALIGNED_SIZE)
