"""A still image, or a folder of them, as a camera: for tests, demos and bench set-ups."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from device.camera.base import CameraSource, CameraUnavailable, fit_within
from device.errors import ImageError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}
MAX_PIXELS = 100_000_000


class FileSource(CameraSource):
    """``camera.source`` is an image file, or a folder whose images are shown in name order, one
    per still (the preview shows the picture the next still will be). With ``camera.files_frame_s``
    the folder also plays by itself, each picture that long, looping: a scene to frame, for the
    live-guidance tests and demos."""

    name = "files"

    def __init__(self, config, clock=time.monotonic):
        super().__init__(config)
        self._paths: list[Path] = []
        self._next = 0
        self._decoder = None  # one decoding child while open (safe_decode.py), ended by close()
        self._clock = clock
        self._opened_at = 0.0

    def open(self) -> None:
        root = Path(self.config.source)
        if root.is_dir():
            paths = sorted(p for p in root.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
        elif root.is_file():
            paths = [root]
        else:
            raise CameraUnavailable(f"camera source {root} does not exist")
        if not paths:
            raise CameraUnavailable(f"camera source {root} holds no .jpg or .png image")
        from device.vision.safe_decode import DecodePool

        self._paths, self._next, self._opened_at = paths, 0, self._clock()
        self._decoder = DecodePool(workers=1)

    def close(self) -> None:
        self._paths = []
        if self._decoder is not None:
            self._decoder.close()
            self._decoder = None

    def _load(self, path: Path) -> np.ndarray:
        from device.vision.decode import decode_image

        try:
            return decode_image(path.read_bytes(), MAX_PIXELS, self._decoder).rgb
        except FileNotFoundError:
            raise CameraUnavailable(f"{path} disappeared") from None
        except ImageError as exc:
            raise CameraUnavailable(f"{path}: {exc}") from None

    def _current(self) -> int:
        if not self._paths:
            raise CameraUnavailable("camera not open")
        played = 0
        if self.config.files_frame_s > 0:
            played = int((self._clock() - self._opened_at) // self.config.files_frame_s)
        return (self._next + played) % len(self._paths)

    def preview(self) -> np.ndarray:
        return fit_within(self._load(self._paths[self._current()]), self.config.preview_size)

    def still(self) -> np.ndarray:
        current = self._current()
        rgb = self._load(self._paths[current])
        self._next += 1  # the next still (and the preview) moves on by one picture
        return fit_within(rgb, self.config.still_size)
