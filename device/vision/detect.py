"""BlazeFace (MediaPipe full-range) decoding: letterbox in, faces with 6 keypoints out.

The detector only ever sees a small letterboxed copy of the picture (192x192), so a 24-megapixel
photo costs about what a 1-megapixel one does; boxes and keypoints are mapped back to the
full-resolution picture, from which alignment then crops.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from device.errors import ModelError
from device.vision.runtime import TFLiteModel

# Keypoint order of BlazeFace, as the subject sees it (so "right eye" is on the image's left).
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth_centre", "right_ear", "left_ear")
# MediaPipe's face_detection_full_range: one anchor per cell of a single stride-4 layer.
ANCHOR_STRIDE = 4


@dataclass(frozen=True)
class Detection:
    box: np.ndarray  # (4,) float32 x0, y0, x1, y1 in pixels of the full picture
    keypoints: np.ndarray  # (6, 2) float32 x, y in pixels, order as KEYPOINTS
    score: float

    @property
    def area(self) -> float:
        return float(max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1]))


def anchor_centres(size: int) -> np.ndarray:
    """(cells, 2) anchor centres in 0..1 units, row-major as the model's outputs are."""
    cells = size // ANCHOR_STRIDE
    grid = (np.arange(cells, dtype=np.float32) + 0.5) / cells
    ys, xs = np.meshgrid(grid, grid, indexing="ij")
    return np.stack([xs.ravel(), ys.ravel()], axis=1)


@dataclass(frozen=True)
class Letterbox:
    """How the picture was fitted into the square model input: model = picture * scale + pad."""

    scale: float
    pad_x: int
    pad_y: int

    def to_picture(self, points: np.ndarray) -> np.ndarray:
        return (points - np.array([self.pad_x, self.pad_y], np.float32)) / self.scale


def letterbox(rgb: np.ndarray, size: int) -> tuple[np.ndarray, Letterbox]:
    """The picture shrunk (aspect kept) and centred on a black square of side ``size``."""
    height, width = rgb.shape[:2]
    scale = size / max(height, width)
    new_w, new_h = max(1, round(width * scale)), max(1, round(height * scale))
    if scale < 0.5:
        # INTER_AREA averages every source pixel (no aliasing) but is slow on a full-size photo;
        # a cheap nearest-neighbour pass down to twice the target size first keeps it ~1 ms.
        rgb = cv2.resize(rgb, (new_w * 2, new_h * 2), interpolation=cv2.INTER_NEAREST)
    small = cv2.resize(rgb, (new_w, new_h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    canvas = np.zeros((size, size, 3), np.uint8)
    pad_x, pad_y = (size - new_w) // 2, (size - new_h) // 2
    canvas[pad_y : pad_y + new_h, pad_x : pad_x + new_w] = small
    return canvas, Letterbox(scale, pad_x, pad_y)


class BlazeFaceDetector:
    """Detects faces with a BlazeFace full-range model; one instance reused for every picture."""

    def __init__(self, model: TFLiteModel, min_score: float = 0.6, nms_iou: float = 0.3):
        height, width = model.input_size
        if height != width or height % ANCHOR_STRIDE:
            raise ModelError(f"model {model.entry.id}: a BlazeFace detector needs a square input, got {width}x{height}")
        self.model = model
        self.size = height
        self.anchors = anchor_centres(self.size)
        self.min_score = min_score
        self.nms_iou = nms_iou

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """All faces in an upright RGB picture, largest first."""
        square, box = letterbox(rgb, self.size)
        regressors, logits = self.model.run(square)
        raw = regressors.reshape(-1, 16)
        if raw.shape[0] != self.anchors.shape[0]:
            raise ModelError(f"model {self.model.entry.id}: {raw.shape[0]} anchors, expected {self.anchors.shape[0]}")
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits.reshape(-1), -80.0, 80.0)))
        keep = scores >= self.min_score
        if not keep.any():
            return []
        found = self._decode(raw[keep], self.anchors[keep], scores[keep])
        faces = []
        for boxes, points, score in weighted_nms(*found, iou_threshold=self.nms_iou):
            corners = box.to_picture(boxes.reshape(2, 2) * self.size).reshape(4)
            keypoints = box.to_picture(points * self.size)
            faces.append(Detection(corners.astype(np.float32), keypoints.astype(np.float32), score))
        faces.sort(key=lambda face: face.area, reverse=True)
        return faces

    def _decode(self, raw: np.ndarray, anchors: np.ndarray, scores: np.ndarray):
        """Regressors (192-pixel units, relative to the anchor) to boxes and keypoints in 0..1 units."""
        values = raw / self.size
        centre = values[:, 0:2] + anchors
        half = values[:, 2:4] / 2
        boxes = np.concatenate([centre - half, centre + half], axis=1)
        points = values[:, 4:16].reshape(-1, 6, 2) + anchors[:, np.newaxis, :]
        return boxes, points, scores


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def weighted_nms(boxes: np.ndarray, points: np.ndarray, scores: np.ndarray, iou_threshold: float):
    """MediaPipe's weighted non-maximum suppression: each cluster of overlapping candidates becomes
    their score-weighted average (steadier boxes than keeping only the best), scored by its best."""
    order = np.argsort(-scores, kind="stable")
    boxes, points, scores = boxes[order], points[order], scores[order]
    remaining = np.ones(len(scores), bool)
    clusters = []
    for i in range(len(scores)):
        if not remaining[i]:
            continue
        members = remaining & (iou(boxes[i], boxes) >= iou_threshold)
        members[i] = True
        remaining &= ~members
        weights = scores[members][:, np.newaxis]
        total = weights.sum()
        merged_box = (boxes[members] * weights).sum(axis=0) / total
        merged_points = (points[members] * weights[:, :, np.newaxis]).sum(axis=0) / total
        clusters.append((merged_box, merged_points, float(scores[i])))
    return clusters
