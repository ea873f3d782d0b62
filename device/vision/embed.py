"""Face embedding: an aligned 112x112 RGB crop to an L2-normalised vector tagged with its model."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from device.errors import ModelError
from device.vision.align import ALIGNED_SIZE
from device.vision.runtime import TFLiteModel


@dataclass(frozen=True)
class Embedding:
    """A unit-length float32 vector and the model that made it: vectors of different ``model_id``
    are not comparable, so a gallery must refuse to mix them."""

    vector: np.ndarray
    model_id: str

    def similarity(self, other: Embedding) -> float:
        """Cosine similarity (both vectors are unit length, so a dot product)."""
        if other.model_id != self.model_id:
            raise ValueError(f"cannot compare embeddings of {self.model_id} and {other.model_id}")
        return float(np.dot(self.vector, other.vector))


class Embedder:
    """Runs an embedding model (SFace by default) on aligned crops; one instance reused."""

    def __init__(self, model: TFLiteModel):
        if model.input_size != (ALIGNED_SIZE, ALIGNED_SIZE):
            raise ModelError(
                f"model {model.entry.id}: an embedder needs a {ALIGNED_SIZE}x{ALIGNED_SIZE} input, "
                f"got {model.input_size}"
            )
        self.model = model
        self.model_id = model.entry.model_id
        self.dimensions = int(np.prod(model.entry.outputs[0].shape))

    def embed(self, aligned_rgb: np.ndarray) -> Embedding:
        if aligned_rgb.shape != (ALIGNED_SIZE, ALIGNED_SIZE, 3):
            raise ValueError(f"expected an aligned {ALIGNED_SIZE}x{ALIGNED_SIZE} RGB crop, got {aligned_rgb.shape}")
        (feature,) = self.model.run(aligned_rgb)[:1]
        vector = feature.reshape(-1).astype(np.float32)
        norm = float(np.linalg.norm(vector))
        if not np.isfinite(norm) or norm == 0:
            raise ModelError(f"model {self.model.entry.id} returned a degenerate vector (norm {norm})")
        vector /= norm
        vector.flags.writeable = False  # shared with callers: nobody should alter a stored vector
        return Embedding(vector, self.model_id)
