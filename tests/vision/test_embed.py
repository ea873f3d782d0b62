"""The shipped TFLite SFace against the original model, and what its similarities mean."""

from __future__ import annotations

import json
from itertools import combinations

import cv2
import numpy as np
import pytest

from device.vision import Embedding
from tests.vision.conftest import DATA, PORTRAITS, photo_bytes

GOLDEN = json.loads((DATA / "sface_golden.json").read_text())["vectors"]


@pytest.mark.parametrize("crop", sorted(GOLDEN))
def test_tflite_embedder_reproduces_original_sface(recognizer, crop):
    """Golden vectors: cv2.FaceRecognizerSF on the original ONNX (tests/data/make_golden.py)."""
    aligned = cv2.cvtColor(cv2.imread(str(DATA / "aligned" / crop)), cv2.COLOR_BGR2RGB)
    vector = recognizer.embedder.embed(aligned).vector
    assert float(np.dot(vector, np.asarray(GOLDEN[crop], np.float32))) >= 0.999


def test_embedding_is_unit_float32_128_tagged_with_model(recognizer):
    face = recognizer.analyze(photo_bytes("obama.jpg")).faces[0]
    embedding = recognizer.embed(face)
    assert embedding.vector.dtype == np.float32 and embedding.vector.shape == (128,)
    assert abs(float(np.linalg.norm(embedding.vector)) - 1.0) < 1e-5
    assert embedding.model_id == recognizer.model_id
    assert embedding.model_id.startswith("sface-2021dec-fp16@") and "8324fecbb144" in embedding.model_id
    assert not embedding.vector.flags.writeable


def test_embeddings_of_different_models_are_not_compared(recognizer):
    face = recognizer.analyze(photo_bytes("obama.jpg")).faces[0]
    embedding = recognizer.embed(face)
    other = Embedding(embedding.vector, "another-model@1+000000000000")
    with pytest.raises(ValueError, match="cannot compare"):
        embedding.similarity(other)


def test_same_person_scores_clearly_above_different_people(recognizer):
    vectors = {name: recognizer.embed(recognizer.analyze(photo_bytes(name)).faces[0]) for name in PORTRAITS}
    person = {
        "obama.jpg": "BO",
        "obama2.jpg": "BO",
        "obama3.jpg": "BO",
        "biden.jpg": "JB",
        "astronaut.png": "EC",
    }
    genuine, impostor = [], []
    for a, b in combinations(PORTRAITS, 2):
        (genuine if person[a] == person[b] else impostor).append(vectors[a].similarity(vectors[b]))
    assert len(genuine) == 3 and len(impostor) == 7
    # Measured: genuine 0.67-0.75 (three different photos), impostor at most 0.15.
    assert min(genuine) > 0.55
    assert max(impostor) < 0.35
    assert min(genuine) - max(impostor) > 0.3


def test_embedding_survives_jpeg_reencoding(recognizer):
    original = recognizer.analyze(photo_bytes("biden.jpg")).faces[0]
    rgb = recognizer.decode(photo_bytes("biden.jpg")).rgb
    jpeg = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 60])[1]
    again = recognizer.analyze(jpeg.tobytes()).faces[0]
    assert recognizer.embed(original).similarity(recognizer.embed(again)) > 0.95
