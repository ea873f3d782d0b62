"""Alignment onto the ArcFace template by a similarity transform."""

from __future__ import annotations

import numpy as np

from device.vision.align import ALIGNED_SIZE, ARCFACE_TEMPLATE, align_face, similarity_transform
from tests.vision.conftest import photo_bytes


def test_similarity_transform_recovers_a_known_one():
    angle, scale, shift = np.radians(17), 0.4, np.array([12.0, -30.0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src = np.array([[100, 200], [300, 190], [210, 300], [205, 380]], np.float64)
    dst = src @ rotation.T + shift
    matrix = similarity_transform(src, dst)
    assert np.allclose(matrix[:, :2], rotation) and np.allclose(matrix[:, 2], shift)


def test_aligned_keypoints_land_on_the_template(recognizer):
    face = recognizer.analyze(photo_bytes("obama.jpg")).faces[0]
    matrix = similarity_transform(face.keypoints[:4], ARCFACE_TEMPLATE)
    mapped = face.keypoints[:4] @ matrix[:, :2].T + matrix[:, 2]
    assert np.abs(mapped - ARCFACE_TEMPLATE).max() < 4.0
    assert face.aligned.shape == (ALIGNED_SIZE, ALIGNED_SIZE, 3) and face.aligned.dtype == np.uint8


def test_large_face_is_shrunk_before_warping_without_moving_it(recognizer):
    """The anti-aliasing path (face far larger than 112 px) puts the face where a direct warp does."""
    import cv2

    image = recognizer.decode(photo_bytes("obama3.jpg")).rgb
    face = recognizer.analyze(photo_bytes("obama3.jpg")).faces[0]
    direct = cv2.warpAffine(image, similarity_transform(face.keypoints[:4], ARCFACE_TEMPLATE), (112, 112))
    shrunk = align_face(image, face.keypoints)
    blur = (7, 7)
    difference = np.abs(cv2.blur(direct, blur).astype(int) - cv2.blur(shrunk, blur).astype(int))
    assert difference.mean() < 4  # same geometry; only the aliasing differs
    edges = (
        cv2.Laplacian(cv2.cvtColor(direct, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var(),
        cv2.Laplacian(cv2.cvtColor(shrunk, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var(),
    )
    assert edges[1] < edges[0]  # less aliasing noise
