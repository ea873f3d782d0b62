"""The small interface every camera source implements, and the picture it gives back."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import cv2
import numpy as np

from device.errors import CameraError


class CameraUnavailable(CameraError):
    """The camera is configured but gives no picture right now (unplugged, stream down)."""


@dataclass(frozen=True)
class Still:
    """One picture, RGB, upright, with when and from what it was taken."""

    rgb: np.ndarray  # (height, width, 3) uint8
    source: str
    taken_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="milliseconds"))

    @property
    def size(self) -> tuple[int, int]:
        return int(self.rgb.shape[1]), int(self.rgb.shape[0])

    def jpeg(self, quality: int = 95) -> bytes:
        ok, data = cv2.imencode(".jpg", cv2.cvtColor(self.rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, quality])
        if not ok:
            raise CameraError("could not encode the picture as JPEG")
        return data.tobytes()


def fit_within(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Downscale (never up) to fit inside ``size`` = (width, height), keeping the aspect ratio."""
    height, width = rgb.shape[:2]
    scale = min(size[0] / width, size[1] / height, 1.0)
    if scale >= 1.0:
        return rgb
    return cv2.resize(rgb, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)


class CameraSource(abc.ABC):
    """A camera backend. Not thread-safe: ``CameraOwner`` serialises every call."""

    name = "camera"

    def __init__(self, config):
        self.config = config

    @abc.abstractmethod
    def open(self) -> None:
        """Acquire the device; CameraUnavailable if it is not there (the owner retries)."""

    @abc.abstractmethod
    def close(self) -> None: ...

    @abc.abstractmethod
    def preview(self) -> np.ndarray:
        """A low-resolution RGB frame, at most ``camera.preview_size``; CameraUnavailable if none."""

    @abc.abstractmethod
    def still(self) -> np.ndarray:
        """A full-resolution RGB picture, at most ``camera.still_size``; CameraUnavailable if none."""

    def burst(self, count: int) -> Iterator[np.ndarray]:
        """``count`` full-resolution pictures one after the other, yielded as each is taken (the
        caller judges and drops one before the next); a source that switches modes for a still
        switches once for the whole burst."""
        for _ in range(count):
            yield self.still()

    def describe(self) -> str:
        return f"{self.name}:{self.config.source}"
