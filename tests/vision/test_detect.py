"""BlazeFace decoding: anchors, letterbox mapping, weighted NMS, several faces largest first."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from device.errors import NoFaceError
from device.vision import Recognizer
from device.vision.detect import BlazeFaceDetector, anchor_centres, iou, letterbox, weighted_nms
from tests.vision.conftest import encode, photo_bytes, photo_rgb


def test_anchor_grid_is_row_major_cell_centres():
    anchors = anchor_centres(192)
    assert anchors.shape == (2304, 2)
    assert np.allclose(anchors[0], [0.5 / 48, 0.5 / 48])
    assert np.allclose(anchors[1], [1.5 / 48, 0.5 / 48])  # x moves first
    assert np.allclose(anchors[48], [0.5 / 48, 1.5 / 48])


def test_letterbox_keeps_aspect_and_maps_points_back():
    rgb = np.full((300, 600, 3), 255, np.uint8)
    square, box = letterbox(rgb, 192)
    assert square.shape == (192, 192, 3)
    assert box.scale == pytest.approx(192 / 600) and (box.pad_x, box.pad_y) == (0, 48)
    assert square[:48].max() == 0 and square[48:144].min() == 255 and square[144:].max() == 0
    corners = np.array([[0, 48], [192, 144]], np.float32)
    assert np.allclose(box.to_picture(corners), [[0, 0], [600, 300]])


def test_weighted_nms_merges_a_cluster_and_keeps_separate_faces():
    boxes = np.array([[0.1, 0.1, 0.3, 0.3], [0.12, 0.1, 0.32, 0.3], [0.6, 0.6, 0.8, 0.8]], np.float32)
    points = np.zeros((3, 6, 2), np.float32)
    points[1] += 1.0
    scores = np.array([0.9, 0.9, 0.7], np.float32)
    merged = weighted_nms(boxes, points, scores, iou_threshold=0.3)
    assert len(merged) == 2
    assert np.allclose(merged[0][0], [0.11, 0.1, 0.31, 0.3])  # equal weights: the mean
    assert np.allclose(merged[0][1], 0.5)
    assert merged[0][2] == pytest.approx(0.9) and merged[1][2] == pytest.approx(0.7)
    assert iou(boxes[0], boxes[2:])[0] == 0


def test_face_box_and_keypoints_are_in_full_picture_pixels(recognizer):
    face = recognizer.analyze(photo_bytes("obama.jpg")).faces[0]
    x0, y0, x1, y1 = face.box
    assert 300 < x0 < 400 and 100 < y0 < 180 and 600 < x1 < 680 and 380 < y1 < 460
    right_eye, left_eye, nose, mouth = face.keypoints[:4]
    assert right_eye[0] < nose[0] < left_eye[0]  # subject's right eye is on the image's left
    assert max(right_eye[1], left_eye[1]) < nose[1] < mouth[1]
    assert all(x0 <= x <= x1 and y0 <= y <= y1 for x, y in face.keypoints[:4])


def test_same_face_found_at_the_same_place_in_a_padded_larger_picture(recognizer):
    """Letterbox mapping: a picture pasted into a bigger canvas gives the same box, offset."""
    rgb = photo_rgb("obama.jpg")
    canvas = np.zeros((2400, 3000, 3), np.uint8)
    canvas[700 : 700 + rgb.shape[0], 1500 : 1500 + rgb.shape[1]] = rgb
    small = recognizer.analyze(encode(rgb)).faces[0]
    large = recognizer.analyze(encode(canvas)).faces[0]
    # In the big canvas the face is 18 detector pixels wide, so the box is coarser, not misplaced.
    tolerance = 0.08 * (small.box[2] - small.box[0])
    assert np.allclose(np.array(large.box) - [1500, 700, 1500, 700], small.box, atol=tolerance)


def test_all_faces_returned_largest_first(recognizer):
    canvas = np.full((1000, 1000, 3), 90, np.uint8)
    canvas[20:974, 560:980] = cv2.resize(photo_rgb("biden.jpg"), (420, 954))
    canvas[300:750, 20:380] = cv2.resize(photo_rgb("obama.jpg"), (360, 450))
    faces = recognizer.analyze(encode(canvas)).faces
    assert len(faces) == 2
    assert [face.index for face in faces] == [0, 1]
    assert faces[0].box[0] > 560 and faces[1].box[2] < 380  # Biden (larger) first, though further right
    obama = recognizer.embed(recognizer.analyze(photo_bytes("obama.jpg")).faces[0])
    assert recognizer.embed(faces[1]).similarity(obama) > 0.8
    assert recognizer.embed(faces[0]).similarity(obama) < 0.4


def test_no_face_is_a_clear_error_unless_allowed(recognizer):
    blank = encode(np.full((480, 640, 3), 128, np.uint8))
    with pytest.raises(NoFaceError, match=r"no face found in the PNG image \(640x480\)"):
        recognizer.analyze(blank)
    assert recognizer.analyze(blank, require_face=False).faces == []


def test_every_face_with_20_px_between_the_eyes_is_found_in_a_4000_px_group_photo(recognizer):
    """The committed faces shrunk to 20 px between the eyes on a 4000x3000 canvas: the first pass
    alone (192x192 of the whole picture) finds none; with the tiled pass every one is found, once."""
    from tests.vision.conftest import PORTRAITS
    from tests.vision.synthetic import group_photo

    pictures = [photo_rgb(name) for name in PORTRAITS] * 3
    eyes = [float(np.linalg.norm(np.subtract(*face_points(recognizer, rgb)[:2]))) for rgb in pictures[:5]] * 3
    canvas, rects = group_photo(pictures, 4000, [20.0] * len(pictures), eyes)
    assert recognizer.detector.tile_above == 1024
    first_pass = recognizer.detector._run(*letterbox(canvas, recognizer.detector.size))
    assert first_pass == []
    faces = recognizer.analyze(encode(canvas, ".jpg", (cv2.IMWRITE_JPEG_QUALITY, 95))).faces
    centres = [((f.box[0] + f.box[2]) / 2, (f.box[1] + f.box[3]) / 2) for f in faces]
    hits = [sum(x0 <= x <= x1 and y0 <= y <= y1 for x, y in centres) for x0, y0, x1, y1 in rects]
    assert hits == [1] * len(rects) and len(faces) == len(rects)
    # Each found face is usable downstream: landmarks and a measured distance between the eyes.
    assert all(f.landmarks is not None and 15 < f.quality.component("inter_eye_px").value < 25 for f in faces)


def test_the_tiled_pass_keeps_only_faces_the_mesh_confirms(recognizer):
    """Small tiles at the detector's threshold also fire on face-like texture (two in obama.jpg's
    suit and hands): the face-mesh model does not see a face there, so they are dropped."""
    always = BlazeFaceDetector(recognizer.detector.model, tile_above=1024, portrait=0.0)
    tiled = [d for d in always.detect(photo_rgb("obama.jpg")) if d.tiled]
    assert tiled and all(recognizer.mesh.run(photo_rgb("obama.jpg"), d.box, d.keypoints)[0] is None for d in tiled)
    tiling = Recognizer(always, recognizer.embedder, recognizer.max_pixels, recognizer.quality_thresholds,
                        recognizer.mesh)  # fmt: skip
    assert len(tiling.analyze(photo_bytes("obama.jpg")).faces) == 1


def test_a_portrait_is_not_tiled(recognizer):
    """obama.jpg (1137 px) is over tile_above, but its face spans a quarter of the picture."""
    assert max(photo_rgb("obama.jpg").shape) > recognizer.detector.tile_above
    assert recognizer.detector.portrait == 0.1
    assert [d.tiled for d in recognizer.detector.detect(photo_rgb("obama.jpg"))] == [False]


def face_points(recognizer, rgb):
    return recognizer.analyze(encode(rgb)).faces[0].points


def test_tile_origins_cover_the_picture_flush_to_its_end():
    from device.vision.detect import _starts

    assert _starts(150, 192, 153) == [0]
    assert _starts(700, 192, 153) == [0, 153, 306, 459, 508]
