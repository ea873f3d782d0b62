"""BlazeFace (MediaPipe full-range) decoding: letterbox in, faces with 6 keypoints out.

The first pass sees a small letterboxed copy of the whole picture (192x192), so a 24-megapixel
photo costs about what a 1-megapixel one does; boxes and keypoints are mapped back to the
full-resolution picture, from which alignment then crops.

That pass finds a face only if its eyes are about 6 pixels apart in the 192-pixel copy: in a
4000-pixel-wide group photo, 125 pixels in the picture. For smaller faces a second pass
tiles the picture: at level k the picture is shrunk so that a tile of 576 * 2^k picture pixels
becomes 192, and tiles overlap by a fifth, so every face the level is for (up to twice its smallest,
box about a fifth of a tile) is wholly inside one tile. Level 0 finds faces down to about 18 px
between the eyes; levels are added until the first pass takes over, so the cost grows with the
picture's area (a 4000x3000 photo: 87 tiles over 3 levels), and a picture under ``tile_above`` pixels on its
long side is never tiled. Nor is a portrait: when the first pass found a face whose box is at least
``portrait`` of the picture's long side (default 1/10), the photo is of that person, and tiling it
(13 tiles for a 2204x970 portrait, ~40 ms) would multiply the cost of every ordinary probe; small
faces behind a large one are then found only down to the first pass's size (eyes ~long side/32 apart).

A face cut by a tile's inner edge is
dropped there (its whole self is in a neighbouring tile), then all passes merge by non-maximum
suppression, the higher score winning. Many small windows at the detector's threshold find some
face-like texture too, so a face only the tiled pass found is kept only if the face-mesh model
also sees a face there (device/vision/recognizer.py).
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
# Tiles: level 0 maps 3 model widths of picture onto one (576 px for a 192 input: a face 20 px
# between the eyes becomes 6.7 px; BlazeFace starts to miss some faces at 5), tiles overlapping by a fifth.
TILE_FACTOR = 3
TILE_STRIDE = 0.8


@dataclass(frozen=True)
class Detection:
    box: np.ndarray  # (4,) float32 x0, y0, x1, y1 in pixels of the full picture
    keypoints: np.ndarray  # (6, 2) float32 x, y in pixels, order as KEYPOINTS
    score: float
    tiled: bool = False  # found only by the second (tiled) pass: confirm it before use

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

    def __init__(self, model: TFLiteModel, min_score: float = 0.6, nms_iou: float = 0.3, tile_above: int = 0,
                 portrait: float = 0.0):  # fmt: skip
        height, width = model.input_size
        if height != width or height % ANCHOR_STRIDE:
            raise ModelError(f"model {model.entry.id}: a BlazeFace detector needs a square input, got {width}x{height}")
        self.model = model
        self.size = height
        self.anchors = anchor_centres(self.size)
        self.min_score = min_score
        self.nms_iou = nms_iou
        self.tile_above = tile_above  # 0: never tile
        self.portrait = portrait  # a face this share of the long side or more: no tiles (0: always tile)

    def detect(self, rgb: np.ndarray) -> list[Detection]:
        """All faces in an upright RGB picture, largest first."""
        square, box = letterbox(rgb, self.size)
        faces = self._run(square, box)
        long_side = max(rgb.shape[:2])
        largest = max((max(f.box[2] - f.box[0], f.box[3] - f.box[1]) for f in faces), default=0.0)
        is_portrait = self.portrait > 0 and largest >= self.portrait * long_side
        if self.tile_above and long_side > self.tile_above and not is_portrait:
            faces = merge([*faces, *self.detect_tiles(rgb)], self.nms_iou)
        faces.sort(key=lambda face: face.area, reverse=True)
        return faces

    def _run(self, square: np.ndarray, box: Letterbox, offset=(0.0, 0.0), tiled: bool = False) -> list[Detection]:
        """Faces in one model-sized square, in picture pixels (``box`` maps square to region, then + offset)."""
        regressors, logits = self.model.run(square)
        raw = regressors.reshape(-1, 16)
        if raw.shape[0] != self.anchors.shape[0]:
            raise ModelError(f"model {self.model.entry.id}: {raw.shape[0]} anchors, expected {self.anchors.shape[0]}")
        scores = 1.0 / (1.0 + np.exp(-np.clip(logits.reshape(-1), -80.0, 80.0)))
        keep = scores >= self.min_score
        if not keep.any():
            return []
        found = self._decode(raw[keep], self.anchors[keep], scores[keep])
        shift = np.array(offset, np.float32)
        faces = []
        for boxes, points, score in weighted_nms(*found, iou_threshold=self.nms_iou):
            corners = box.to_picture(boxes.reshape(2, 2) * self.size) + shift
            keypoints = box.to_picture(points * self.size) + shift
            faces.append(Detection(corners.reshape(4).astype(np.float32), keypoints.astype(np.float32), score, tiled))
        return faces

    def detect_tiles(self, rgb: np.ndarray) -> list[Detection]:
        """The second pass for small faces: overlapping tiles at each level the first pass needs."""
        height, width = rgb.shape[:2]
        long_side = max(height, width)
        found = []
        side = TILE_FACTOR * self.size  # picture pixels per tile at level 0
        # Level k finds eyes from side/32 px apart; the first pass from long_side/32 (6 px of 192).
        while side < long_side:
            scale = self.size / side
            small = cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))),
                               interpolation=cv2.INTER_AREA)  # fmt: skip
            step = max(1, int(self.size * TILE_STRIDE))
            for y in _starts(small.shape[0], self.size, step):
                for x in _starts(small.shape[1], self.size, step):
                    tile = small[y : y + self.size, x : x + self.size]
                    square = np.zeros((self.size, self.size, 3), np.uint8)
                    square[: tile.shape[0], : tile.shape[1]] = tile
                    faces = self._run(square, Letterbox(scale, 0, 0), (x / scale, y / scale), tiled=True)
                    inner = _inner_edges(x, y, tile.shape[1], tile.shape[0], small.shape[1], small.shape[0])
                    found += [f for f in faces if not _cut(f.box * scale, inner)]
            side *= 2
        return found

    def _decode(self, raw: np.ndarray, anchors: np.ndarray, scores: np.ndarray):
        """Regressors (192-pixel units, relative to the anchor) to boxes and keypoints in 0..1 units."""
        values = raw / self.size
        centre = values[:, 0:2] + anchors
        half = values[:, 2:4] / 2
        boxes = np.concatenate([centre - half, centre + half], axis=1)
        points = values[:, 4:16].reshape(-1, 6, 2) + anchors[:, np.newaxis, :]
        return boxes, points, scores


def _starts(length: int, size: int, step: int) -> list[int]:
    """Tile origins covering ``length`` with tiles of ``size`` every ``step`` (the last flush with the end)."""
    if length <= size:
        return [0]
    starts = list(range(0, length - size, step))
    return [*starts, length - size]


def _inner_edges(x: int, y: int, w: int, h: int, width: int, height: int) -> tuple:
    """(x0, y0, x1, y1) of a tile's edges that cut the picture (None where the edge is the picture's)."""
    return (x if x > 0 else None, y if y > 0 else None, x + w if x + w < width else None,
            y + h if y + h < height else None)  # fmt: skip


def _cut(box: np.ndarray, inner: tuple, margin: float = 2.0) -> bool:
    """Whether a (scaled) face box touches an inner tile edge: the face may be cut off there."""
    x0, y0, x1, y1 = inner
    return bool(
        (x0 is not None and box[0] <= x0 + margin)
        or (y0 is not None and box[1] <= y0 + margin)
        or (x1 is not None and box[2] >= x1 - margin)
        or (y1 is not None and box[3] >= y1 - margin)
    )


def merge(faces: list[Detection], iou_threshold: float, inside: float = 0.5) -> list[Detection]:
    """Faces from several passes: of overlapping ones the highest score is kept (NMS). Two passes
    at different scales may box one face loosely and tightly (IoU under the threshold): a box
    mostly (``inside``) within another is the same face too."""
    faces = sorted(faces, key=lambda face: -face.score)
    kept: list[Detection] = []
    for face in faces:
        if kept:
            boxes = np.array([k.box for k in kept])
            if iou(face.box, boxes).max() >= iou_threshold or overlap_of_smaller(face.box, boxes).max() >= inside:
                continue
        kept.append(face)
    return kept


def _overlaps(box: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, float, np.ndarray]:
    """``(intersection areas, area of box, areas of boxes)`` of one box against many."""
    x0 = np.maximum(box[0], boxes[:, 0])
    y0 = np.maximum(box[1], boxes[:, 1])
    x1 = np.minimum(box[2], boxes[:, 2])
    y1 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x1 - x0, 0, None) * np.clip(y1 - y0, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter, area, areas


def overlap_of_smaller(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """Intersection over the smaller box's area."""
    inter, area, areas = _overlaps(box, boxes)
    return inter / np.maximum(np.minimum(area, areas), 1e-9)


def iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    inter, area, areas = _overlaps(box, boxes)
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
