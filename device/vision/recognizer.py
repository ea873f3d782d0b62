"""The recognition pipeline as one object: decode, detect, align, assess quality, embed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from device.config import VisionConfig, VisionQualityConfig
from device.errors import NoFaceError
from device.vision.align import align_face
from device.vision.decode import DecodedImage, decode_image
from device.vision.detect import KEYPOINTS, BlazeFaceDetector, Detection
from device.vision.embed import Embedder, Embedding
from device.vision.landmarks import FaceLandmarks, FaceMesh
from device.vision.manifest import find_model
from device.vision.pose import head_pose
from device.vision.quality import QualityReport, assess, measure
from device.vision.runtime import TFLiteModel
from device.vision.safe_decode import DecodePool

# The five alignment points by name, as Face.to_dict reports them.
FIVE_POINTS = ("right_eye", "left_eye", "nose_tip", "mouth_right", "mouth_left")


@dataclass(frozen=True)
class Face:
    """One detected face, in pixels of the upright picture."""

    index: int  # 0 = largest
    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    keypoints: np.ndarray  # (6, 2) float32, the detector's, order as detect.KEYPOINTS
    score: float  # the detector's confidence
    quality: QualityReport
    aligned: np.ndarray = field(repr=False)  # (112, 112, 3) uint8 RGB, the embedder's input
    landmarks: FaceLandmarks | None = field(default=None, repr=False)  # None: the mesh saw no face
    points: np.ndarray | None = field(default=None, repr=False)  # (5, 2) alignment points, FIVE_POINTS

    @property
    def overlay_points(self) -> np.ndarray:
        """Points to draw over the photo: the mesh's five alignment points, chin and brow, or the
        detector's eyes, nose and mouth when the mesh saw no face."""
        return self.landmarks.overlay_points() if self.landmarks is not None else self.keypoints[:4]

    def to_dict(self) -> dict:
        out = {
            "index": self.index,
            "box": [round(v, 1) for v in self.box],
            "keypoints": {
                name: [round(float(x), 1), round(float(y), 1)]
                for name, (x, y) in zip(KEYPOINTS, self.keypoints, strict=True)
            },
            "score": round(self.score, 4),
            "quality": self.quality.to_dict(),
        }
        if self.points is not None and self.landmarks is not None:
            out["landmarks"] = {
                name: [round(float(x), 1), round(float(y), 1)]
                for name, (x, y) in zip(FIVE_POINTS, self.points, strict=True)
            }
        return out


@dataclass(frozen=True)
class Analysis:
    """What one picture holds: its size and format, and every face, largest first."""

    width: int
    height: int
    format: str
    orientation: int  # EXIF orientation that was applied (1 = none)
    faces: list[Face]
    timings_ms: dict[str, float]  # decode, detect, align (incl. quality)

    def to_dict(self) -> dict:
        return {
            "image": {
                "width": self.width,
                "height": self.height,
                "format": self.format,
                "exif_orientation": self.orientation,
            },
            "faces": [face.to_dict() for face in self.faces],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
        }


class Recognizer:
    """Holds the loaded models (built once, reused for every picture) and the thresholds."""

    def __init__(self, detector: BlazeFaceDetector, embedder: Embedder | None, max_pixels: int,
                 quality: VisionQualityConfig, mesh: FaceMesh, decoder: DecodePool | None = None):  # fmt: skip
        # The children that decode untrusted pictures for this recognizer (safe_decode.py): owned
        # here, so whoever owns the recognizer can end them (the web process does on lock).
        self.decoder = decoder if decoder is not None else DecodePool()
        self.detector = detector
        self.embedder = embedder
        self.max_pixels = max_pixels
        self.quality_thresholds = quality
        self.mesh = mesh

    @classmethod
    def from_config(cls, config: VisionConfig, *, preview: bool = False) -> Recognizer:
        """Verify and load the configured detector and embedder (ModelError if that fails).

        ``preview``: the camera preview's live guidance (device/camera/guide.py): detector and
        face mesh on one interpreter thread each (at most one core), and no embedder loaded at all,
        so nothing a preview frame reaches can make a face vector (``embed`` refuses)."""
        threads = 1 if preview else config.threads

        def load(model_id: str, role: str) -> TFLiteModel:
            entry = find_model(model_id, role, config.manifests)
            return TFLiteModel(entry, config.interpreter, threads, config.edgetpu_library)

        detector = BlazeFaceDetector(
            load(config.detector, "detector"),
            config.min_detection_score,
            config.nms_iou,
            config.tile_above,
            config.tile_portrait,
        )
        mesh = FaceMesh(load(config.landmarks, "landmarks"))
        embedder = None if preview else Embedder(load(config.embedder, "embedder"))
        decoder = DecodePool(config.decode_workers, config.decode_timeout_s)
        return cls(detector, embedder, config.max_pixels, config.quality, mesh, decoder)

    @property
    def model_id(self) -> str:
        """The embedder's id (name, version, content hash): stored beside every vector."""
        return self.embedder.model_id

    @property
    def interpreter(self) -> str:
        return self.embedder.model.backend

    def decode(self, image_bytes: bytes) -> DecodedImage:
        return decode_image(image_bytes, self.max_pixels, self.decoder)

    def analyze(self, image_bytes: bytes, require_face: bool = True) -> Analysis:
        """Every face of a JPEG/PNG picture, largest first, each aligned and quality-assessed.

        ImageError for bytes that are not a usable picture; NoFaceError if no face is found and
        ``require_face`` (pass False for camera frames, where an empty picture is normal).
        """
        started = time.perf_counter()
        image = self.decode(image_bytes)
        decoded = time.perf_counter()
        detections = self.detector.detect(image.rgb)
        detected = time.perf_counter()
        faces = self._refine(image.rgb, detections)
        aligned_at = time.perf_counter()
        if not faces and require_face:
            raise NoFaceError(
                f"no face found in the {image.header.format.upper()} image ({image.width}x{image.height})"
            )
        timings = {
            "decode": (decoded - started) * 1e3,
            "detect": (detected - decoded) * 1e3,
            "align": (aligned_at - detected) * 1e3,
        }
        return Analysis(image.width, image.height, image.header.format, image.header.orientation, faces, timings)

    def faces(self, rgb: np.ndarray) -> list[Face]:
        """Every face of an RGB frame already in memory (a camera frame or still), largest first:
        detection, landmarks, alignment and quality; nothing is embedded."""
        return self._refine(rgb, self.detector.detect(rgb))

    def _refine(self, rgb: np.ndarray, detections: list[Detection]) -> list[Face]:
        faces = []
        for found in detections:
            face = self.face(rgb, len(faces), found)
            # A small-face tile at the detector's threshold also finds face-like texture: keep what
            # only that pass found when the face-mesh model confirms a face there.
            if face.landmarks is not None or not found.tiled:
                faces.append(face)
        return faces

    def face(self, rgb: np.ndarray, index: int, found: Detection) -> Face:
        """One detection refined: face-mesh landmarks, five-point alignment, pose, quality."""
        landmarks, presence = self.mesh.run(rgb, found.box, found.keypoints)
        if landmarks is None:
            # No landmarks: align on the detector's points; pose and eyes cannot be measured.
            points = found.keypoints[:4].astype(np.float64)
            pose, eyes_open, eyes = (float("nan"),) * 3, float("nan"), found.keypoints[:2]
        else:
            points = landmarks.five_points()
            pose, eyes_open, eyes = head_pose(landmarks.points), landmarks.eyes_open(), points[:2]
        aligned = align_face(rgb, points)
        report = assess(measure(aligned, eyes, pose, eyes_open, presence), self.quality_thresholds)
        box = tuple(float(v) for v in found.box)
        return Face(index, box, found.keypoints, found.score, report, aligned, landmarks, points)

    def embed(self, face: Face) -> Embedding:
        """The face's unit-length vector, tagged with ``model_id``."""
        if self.embedder is None:
            raise RuntimeError("this recognizer serves the camera preview: it has no embedder and never embeds")
        return self.embedder.embed(face.aligned)
