"""Alignment: a similarity transform from detector keypoints onto the ArcFace 112x112 template.

SFace (like ArcFace-family models) was trained on faces warped onto this five-point template; its
embeddings are only comparable for faces aligned the same way. BlazeFace gives the mouth centre,
not the corners, so the template's two mouth corners are replaced by their mean.
"""

from __future__ import annotations

import cv2
import numpy as np

ALIGNED_SIZE = 112
# Image left to right: subject's right eye, left eye, nose tip, mouth centre (mean of the corners).
ARCFACE_TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [(41.5493 + 70.7299) / 2, (92.3655 + 92.2041) / 2],
    ],
    np.float64,
)


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


def align_face(rgb: np.ndarray, keypoints: np.ndarray) -> np.ndarray:
    """The 112x112 RGB face crop, warped from the full-resolution picture.

    A face much larger than 112 pixels is first shrunk with area averaging (only the region the
    crop needs), because a bilinear warp that skips most source pixels aliases fine texture, which
    would make a sharp large face look noisy to the embedder and to the sharpness measure.
    """
    matrix = similarity_transform(keypoints[:4], ARCFACE_TEMPLATE)
    scale = float(np.hypot(matrix[0, 0], matrix[0, 1]))
    if scale < 0.5:
        inverse = cv2.invertAffineTransform(matrix)
        corners = np.array([[0, 0, 1], [ALIGNED_SIZE, 0, 1], [0, ALIGNED_SIZE, 1], [ALIGNED_SIZE] * 2 + [1]])
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
        rgb,
        matrix,
        (ALIGNED_SIZE, ALIGNED_SIZE),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )
