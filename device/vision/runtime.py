"""The one TFLite import shim: ai-edge-litert (default) or tflite-runtime, and the Edge TPU delegate.

Nothing else in fieldface imports an interpreter package. Both expose the same ``Interpreter`` /
``load_delegate`` API; which one is used comes from ``vision.interpreter`` ("auto" takes the first
that imports, ai-edge-litert first). A ``TFLiteModel`` is built once per model file and reused for
every frame: building an interpreter costs tens of milliseconds and re-plans the tensor arena.
"""

from __future__ import annotations

import ctypes
import importlib
import logging
import threading
from types import ModuleType

import numpy as np

from device.errors import ModelError
from device.vision.manifest import ModelEntry, read_verified
from device.vision.native_stderr import native_stderr_to_log

logger = logging.getLogger(__name__)

# Config name -> module; "auto" tries them in this order.
BACKENDS = {
    "ai-edge-litert": "ai_edge_litert.interpreter",
    "tflite-runtime": "tflite_runtime.interpreter",
}


def interpreter_backend(choice: str) -> tuple[str, ModuleType]:
    """The backend's config name and its ``interpreter`` module; ModelError if it cannot be imported."""
    names = list(BACKENDS) if choice == "auto" else [choice]
    if choice != "auto" and choice not in BACKENDS:
        raise ModelError(f"unknown interpreter {choice!r} (known: auto, {', '.join(BACKENDS)})")
    reasons = []
    for name in names:
        try:
            return name, importlib.import_module(BACKENDS[name])
        # tflite-runtime built against numpy 1 fails with an ImportError (or a bare
        # AttributeError from its C module) under numpy 2: either way, that backend is unusable.
        except (ImportError, AttributeError) as exc:
            reasons.append(f"{name}: {exc}")
    hint = "pip install ai-edge-litert (or tflite-runtime on a numpy-1 system)"
    raise ModelError(f"no TFLite interpreter can be imported ({'; '.join(reasons)}): {hint}")


class TFLiteModel:
    """One loaded model: pixels in (0..255 RGB, NHWC), float32 outputs in manifest order."""

    def __init__(self, entry: ModelEntry, backend: str, threads: int, edgetpu_library: str):
        self.entry = entry
        self.threads = threads  # interpreter threads: the camera preview's models run on one
        self.backend, module = interpreter_backend(backend)
        content = read_verified(entry)  # the bytes that were hashed are the bytes that get loaded
        delegates = []
        if entry.delegate == "edgetpu":
            try:
                # Probe with ctypes first: when the library is absent, load_delegate leaves a
                # half-built Delegate whose __del__ raises again during garbage collection.
                ctypes.CDLL(edgetpu_library)
                delegates.append(module.load_delegate(edgetpu_library))
            except (OSError, ValueError, RuntimeError) as exc:
                raise ModelError(
                    f"model {entry.id} needs the Edge TPU delegate but {edgetpu_library} cannot be loaded "
                    f"({exc}): install libedgetpu1-std and plug in the Coral, or choose a CPU model"
                ) from None
        try:
            with native_stderr_to_log("tflite"):
                self._interp = module.Interpreter(
                    model_content=content, num_threads=threads, experimental_delegates=delegates or None
                )
                self._interp.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"model {entry.id}: {self.backend} cannot load {entry.path}: {exc}") from None
        self._input = self._check_input()
        self._outputs = self._match_outputs()
        low, high = entry.input.range
        self._scale = (high - low) / 255.0
        self._offset = low
        # One interpreter serves every caller; TFLite interpreters are not safe to invoke concurrently.
        self._lock = threading.Lock()

    @property
    def input_size(self) -> tuple[int, int]:
        """(height, width) of the model's input image."""
        _, height, width, _ = self._input["shape"]
        return int(height), int(width)

    def _check_input(self) -> dict:
        details = self._interp.get_input_details()
        if len(details) != 1 or tuple(details[0]["shape"]) != self.entry.input.shape:
            got = [tuple(int(n) for n in d["shape"]) for d in details]
            raise ModelError(
                f"model {self.entry.id}: input tensors {got} are not the manifest's {self.entry.input.shape}"
            )
        return details[0]

    def _match_outputs(self) -> list[dict]:
        """Output details in manifest order: matched by name, else by shape (converters rename tensors)."""
        details = self._interp.get_output_details()
        ordered = []
        for want in self.entry.outputs:
            match = [d for d in details if d["name"] == want.name] or [
                d for d in details if tuple(int(n) for n in d["shape"]) == want.shape and d not in ordered
            ]
            if not match or tuple(int(n) for n in match[0]["shape"]) != want.shape:
                raise ModelError(f"model {self.entry.id}: no output tensor {want.name} of shape {want.shape}")
            ordered.append(match[0])
        return ordered

    def _quantise(self, values: np.ndarray) -> np.ndarray:
        dtype = self._input["dtype"]
        if np.issubdtype(dtype, np.floating):
            return values.astype(dtype, copy=False)
        scale, zero = self._input["quantization"]
        info = np.iinfo(dtype)
        return np.clip(np.round(values / scale + zero), info.min, info.max).astype(dtype)

    def run(self, pixels: np.ndarray) -> list[np.ndarray]:
        """Invoke on one image (H, W, 3) of 0..255 RGB values; outputs as float32 copies."""
        values = pixels.astype(np.float32)[np.newaxis] * self._scale + self._offset
        tensor = self._quantise(values)
        with self._lock:
            self._interp.set_tensor(self._input["index"], tensor)
            self._interp.invoke()
            raw = [self._interp.get_tensor(d["index"]) for d in self._outputs]
        result = []
        for detail, out in zip(self._outputs, raw, strict=True):
            if not np.issubdtype(out.dtype, np.floating):
                scale, zero = detail["quantization"]
                out = (out.astype(np.float32) - zero) * scale
            result.append(out.astype(np.float32, copy=True))
        return result
