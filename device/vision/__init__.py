"""Face recognition pipeline: decode, detect, landmarks, align, quality, embed; all on-device TFLite.

The public API (everything else in this package is internal)::

    recognizer = Recognizer.from_config(config.vision)   # verifies sha256, loads models once
    analysis = recognizer.analyze(image_bytes)           # Analysis; NoFaceError if no face
    face = analysis.faces[0]                             # Face: largest first
    face.box, face.keypoints, face.score                 # the detector's, pixels of the upright picture
    face.landmarks, face.points                          # face mesh (468 points) or None; 5 alignment points
    face.quality.verdict, face.quality.reasons           # "pass" | "warn" | "fail", why and what to fix
    face.quality.unified                                 # 0-100: predicted share of identity signal kept
    face.aligned                                         # (112, 112, 3) uint8 RGB crop
    embedding = recognizer.embed(face)                   # Embedding
    embedding.vector                                     # (128,) float32, unit length
    embedding.model_id == recognizer.model_id            # never compare across model ids
    embedding.similarity(other)                          # cosine

Errors are ``device.errors`` classes: ``ImageError`` (not a usable JPEG/PNG, too large),
``NoFaceError`` (both UsageError, exit 2) and ``ModelError`` (model file missing, altered or not
loadable). A ``Recognizer`` may be shared between threads: each model serialises its own calls.
"""

from device.vision.embed import Embedding
from device.vision.quality import QualityReport
from device.vision.recognizer import Analysis, Face, Recognizer

__all__ = ["Analysis", "Embedding", "Face", "QualityReport", "Recognizer"]
