"""Alignment onto the ArcFace template by a similarity transform."""

from __future__ import annotations

import numpy as np
import pytest

from device.vision.align import (
    ALIGNED_SIZE,
    ARCFACE_TEMPLATE,
    align_face,
    alignment_matrix,
    similarity_transform,
    template_for,
)
from tests.vision.conftest import photo_bytes


def test_similarity_transform_recovers_a_known_one():
    angle, scale, shift = np.radians(17), 0.4, np.array([12.0, -30.0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    src = np.array([[100, 200], [300, 190], [210, 300], [205, 380]], np.float64)
    dst = src @ rotation.T + shift
    matrix = similarity_transform(src, dst)
    assert np.allclose(matrix[:, :2], rotation) and np.allclose(matrix[:, 2], shift)


def test_aligned_points_land_on_the_template(recognizer):
    """The five face-mesh points (eye centres, nose tip, mouth corners) fit the five-point template."""
    face = recognizer.analyze(photo_bytes("obama.jpg")).faces[0]
    assert face.points.shape == (5, 2)
    mapped = face.points @ alignment_matrix(face.points)[:, :2].T + alignment_matrix(face.points)[:, 2]
    assert np.abs(mapped[:3] - ARCFACE_TEMPLATE[:3]).max() < 4.0  # eyes and nose
    assert np.abs(mapped[3:] - ARCFACE_TEMPLATE[3:]).max() < 8.0  # a smile widens the mouth
    assert face.aligned.shape == (ALIGNED_SIZE, ALIGNED_SIZE, 3) and face.aligned.dtype == np.uint8


def test_detector_points_fall_back_to_the_mouth_centre_template(recognizer):
    face = recognizer.analyze(photo_bytes("obama.jpg")).faces[0]
    four = template_for(face.keypoints[:4])
    assert four.shape == (4, 2) and np.allclose(four[3], ARCFACE_TEMPLATE[3:].mean(axis=0))
    assert align_face(recognizer.decode(photo_bytes("obama.jpg")).rgb, face.keypoints[:4]).shape == (112, 112, 3)
    with pytest.raises(ValueError, match="5 face points"):
        alignment_matrix(face.keypoints)  # all six detector points: refused, not silently cut


def test_large_face_is_shrunk_before_warping_without_moving_it(recognizer):
    """The anti-aliasing path (face far larger than 112 px) puts the face where a direct warp does."""
    import cv2

    image = recognizer.decode(photo_bytes("obama3.jpg")).rgb
    face = recognizer.analyze(photo_bytes("obama3.jpg")).faces[0]
    direct = cv2.warpAffine(image, alignment_matrix(face.points), (112, 112))
    shrunk = align_face(image, face.points)
    blur = (7, 7)
    difference = np.abs(cv2.blur(direct, blur).astype(int) - cv2.blur(shrunk, blur).astype(int))
    assert difference.mean() < 4  # same geometry; only the aliasing differs
    edges = (
        cv2.Laplacian(cv2.cvtColor(direct, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var(),
        cv2.Laplacian(cv2.cvtColor(shrunk, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var(),
    )
    assert edges[1] < edges[0]  # less aliasing noise
