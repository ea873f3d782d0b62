"""OpenCV ``VideoCapture``: a USB (UVC) camera by index, an RTSP stream, or a video file."""

from __future__ import annotations

import cv2
import numpy as np

from device.camera.base import CameraSource, CameraUnavailable, fit_within


class OpenCVSource(CameraSource):
    """``camera.source``: ``"0"`` (``/dev/video0``), ``rtsp://...``, or a video file path (looped).

    One capture mode for both uses: switching a UVC camera's resolution takes a second or more, so
    it runs at ``still_size`` (the driver picks the nearest it has) and the preview is downscaled.
    """

    name = "opencv"

    def __init__(self, config, capture_factory=cv2.VideoCapture):
        super().__init__(config)
        self._factory = capture_factory
        self._cap = None
        self._is_file = False

    def _target(self):
        source = self.config.source
        return int(source) if source.isdigit() else source

    def open(self) -> None:
        target = self._target()
        cap = self._factory(target)
        if not cap.isOpened():
            cap.release()
            raise CameraUnavailable(f"OpenCV cannot open camera source {self.config.source!r}")
        self._is_file = isinstance(target, str) and "://" not in target
        if isinstance(target, int):
            width, height = self.config.still_size
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
            # Without this, a UVC camera hands out a frame queued seconds ago.
            cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        self._cap = cap

    def close(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def _read(self) -> np.ndarray:
        if self._cap is None:
            raise CameraUnavailable("camera not open")
        ok, frame = self._cap.read()
        if not ok and self._is_file:  # a video file loops, like a camera that never ends
            self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
            ok, frame = self._cap.read()
        if not ok or frame is None:
            self.close()
            raise CameraUnavailable(f"camera source {self.config.source!r} stopped giving frames")
        return cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)

    def preview(self) -> np.ndarray:
        return fit_within(self._read(), self.config.preview_size)

    def still(self) -> np.ndarray:
        return fit_within(self._read(), self.config.still_size)
