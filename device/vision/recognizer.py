"""The recognition pipeline as one object: decode, detect, align, assess quality, embed."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from device.config import VisionConfig, VisionQualityConfig
from device.errors import NoFaceError
from device.vision.align import align_face
from device.vision.decode import DecodedImage, decode_image
from device.vision.detect import KEYPOINTS, BlazeFaceDetector
from device.vision.embed import Embedder, Embedding
from device.vision.manifest import find_model
from device.vision.quality import QualityReport, assess, measure
from device.vision.runtime import TFLiteModel


@dataclass(frozen=True)
class Face:
    """One detected face, in pixels of the upright picture."""

    index: int  # 0 = largest
    box: tuple[float, float, float, float]  # x0, y0, x1, y1
    keypoints: np.ndarray  # (6, 2) float32, order as detect.KEYPOINTS
    score: float
    quality: QualityReport
    aligned: np.ndarray = field(repr=False)  # (112, 112, 3) uint8 RGB, the embedder's input

    def to_dict(self) -> dict:
        return {
            "index": self.index,
            "box": [round(v, 1) for v in self.box],
            "keypoints": {
                name: [round(float(x), 1), round(float(y), 1)]
                for name, (x, y) in zip(KEYPOINTS, self.keypoints, strict=True)
            },
            "score": round(self.score, 4),
            "quality": self.quality.to_dict(),
        }


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

    def __init__(self, detector: BlazeFaceDetector, embedder: Embedder, max_pixels: int, quality: VisionQualityConfig):
        self.detector = detector
        self.embedder = embedder
        self.max_pixels = max_pixels
        self.quality_thresholds = quality

    @classmethod
    def from_config(cls, config: VisionConfig) -> Recognizer:
        """Verify and load the configured detector and embedder (ModelError if that fails)."""

        def load(model_id: str, role: str) -> TFLiteModel:
            entry = find_model(model_id, role, config.manifests)
            return TFLiteModel(entry, config.interpreter, config.threads, config.edgetpu_library)

        detector = BlazeFaceDetector(load(config.detector, "detector"), config.min_detection_score, config.nms_iou)
        return cls(detector, Embedder(load(config.embedder, "embedder")), config.max_pixels, config.quality)

    @property
    def model_id(self) -> str:
        """The embedder's id (name, version, content hash): stored beside every vector."""
        return self.embedder.model_id

    @property
    def interpreter(self) -> str:
        return self.embedder.model.backend

    def decode(self, image_bytes: bytes) -> DecodedImage:
        return decode_image(image_bytes, self.max_pixels)

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
        faces = []
        for index, found in enumerate(detections):
            aligned = align_face(image.rgb, found.keypoints)
            report = assess(measure(aligned, found.keypoints, found.score), self.quality_thresholds)
            box = tuple(float(v) for v in found.box)
            faces.append(Face(index, box, found.keypoints, found.score, report, aligned))
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

    def embed(self, face: Face) -> Embedding:
        """The face's unit-length vector, tagged with ``model_id``."""
        return self.embedder.embed(face.aligned)
