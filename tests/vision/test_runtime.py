"""The interpreter shim: backend choice, interpreters built once, Edge TPU delegate on request."""

from __future__ import annotations

import os
import shutil

import pytest

from device.errors import ModelError
from device.vision import Recognizer
from device.vision.runtime import BACKENDS, TFLiteModel, interpreter_backend
from tests.vision.conftest import photo_bytes, vision_config
from tests.vision.test_manifest import agency_manifest, shipped_sface


def test_backend_is_the_configured_one(recognizer):
    wanted = os.environ.get("FIELDFACE_INTERPRETER", "auto")
    assert recognizer.interpreter in BACKENDS
    if wanted != "auto":
        assert recognizer.interpreter == wanted
    name, module = interpreter_backend(recognizer.interpreter)
    assert module.__name__ == BACKENDS[name] and hasattr(module, "Interpreter")


def test_unknown_or_absent_backend_is_a_model_error(monkeypatch):
    with pytest.raises(ModelError, match="unknown interpreter"):
        interpreter_backend("tensorflow")
    monkeypatch.setitem(BACKENDS, "tflite-runtime", "no_such_package.interpreter")
    monkeypatch.setitem(BACKENDS, "ai-edge-litert", "no_such_package.interpreter")
    with pytest.raises(ModelError, match="no TFLite interpreter can be imported"):
        interpreter_backend("auto")


def test_interpreters_are_built_once_and_reused(recognizer):
    before = (recognizer.detector.model._interp, recognizer.embedder.model._interp)
    for _ in range(3):
        face = recognizer.analyze(photo_bytes("obama2.jpg")).faces[0]
        recognizer.embed(face)
    assert (recognizer.detector.model._interp, recognizer.embedder.model._interp) == before


def test_thread_count_comes_from_config():
    entry = shipped_sface()
    one = TFLiteModel(entry, vision_config().interpreter, threads=1, edgetpu_library="libedgetpu.so.1")
    assert one.input_size == (112, 112)


def test_edge_tpu_model_without_the_delegate_is_a_clear_error(tmp_path):
    entry = shipped_sface()
    shutil.copy(entry.path, tmp_path / "mine.tflite")
    manifest = agency_manifest(tmp_path, "mine.tflite", entry.sha256, entry.bytes, delegate="edgetpu")
    config = vision_config(embedder="agency-sface", manifests=[manifest], edgetpu_library="libedgetpu-absent.so.1")
    with pytest.raises(ModelError, match=r"needs the Edge TPU delegate but libedgetpu-absent.so.1 cannot be loaded"):
        Recognizer.from_config(config)
