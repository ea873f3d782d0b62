"""The Raspberry Pi camera through picamera2 (Raspberry Pi OS only: it needs libcamera).

picamera2 is imported when the camera is opened, never at module import: its package imports
libcamera at once, which exists only on a Pi, and nothing else in fieldface may depend on that.
"""

from __future__ import annotations

import importlib

import numpy as np

from device.camera.base import CameraSource, CameraUnavailable


class Picamera2Source(CameraSource):
    """Streams a small preview configuration; a still switches to the full-resolution still
    configuration for one frame and back (``switch_mode_and_capture_array``), as the Pi's
    touchscreen camera apps do. ``camera.source`` is the camera number (``"0"``)."""

    name = "picamera2"

    def __init__(self, config, module_name: str = "picamera2"):
        super().__init__(config)
        self._module_name = module_name
        self._cam = None
        self._still_config = None
        self._preview_config = None

    def open(self) -> None:
        try:
            module = importlib.import_module(self._module_name)
        except ImportError as exc:
            raise CameraUnavailable(
                f"picamera2 is not importable ({exc}); on Raspberry Pi OS: apt install python3-picamera2 "
                "and make the venv with --system-site-packages"
            ) from None
        number = int(self.config.source) if self.config.source.isdigit() else 0
        if number >= len(module.Picamera2.global_camera_info()):
            raise CameraUnavailable(f"no Raspberry Pi camera number {number} is connected")
        try:
            cam = module.Picamera2(number)
            # "RGB888" is libcamera's name for B,G,R byte order: the pixels arrive as BGR.
            preview = cam.create_preview_configuration(
                main={"size": tuple(self.config.preview_size), "format": "RGB888"}
            )
            self._still_config = cam.create_still_configuration(
                main={"size": tuple(self.config.still_size), "format": "RGB888"}
            )
            self._preview_config = preview
            cam.configure(preview)
            cam.start()
        except (RuntimeError, OSError, IndexError) as exc:
            raise CameraUnavailable(f"the Raspberry Pi camera {number} does not start: {exc}") from None
        self._cam = cam

    def close(self) -> None:
        cam, self._cam = self._cam, None
        if cam is not None:
            try:
                cam.stop()
            finally:
                cam.close()

    def _rgb(self, bgr: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(bgr[:, :, 2::-1])  # BGR(X) to RGB

    def preview(self) -> np.ndarray:
        if self._cam is None:
            raise CameraUnavailable("camera not open")
        try:
            return self._rgb(self._cam.capture_array("main"))
        except (RuntimeError, OSError) as exc:
            self.close()
            raise CameraUnavailable(f"the Raspberry Pi camera stopped: {exc}") from None

    def burst(self, count: int):
        """One switch to the still mode for the whole burst (a switch costs a few frames), back after."""
        if self._cam is None:
            raise CameraUnavailable("camera not open")
        try:
            self._cam.switch_mode(self._still_config)
            try:
                for _ in range(count):
                    yield self._rgb(self._cam.capture_array("main"))
            finally:
                self._cam.switch_mode(self._preview_config)
        except (RuntimeError, OSError) as exc:
            self.close()
            raise CameraUnavailable(f"the Raspberry Pi camera stopped: {exc}") from None

    def still(self) -> np.ndarray:
        if self._cam is None:
            raise CameraUnavailable("camera not open")
        try:
            return self._rgb(self._cam.switch_mode_and_capture_array(self._still_config, "main"))
        except (RuntimeError, OSError) as exc:
            self.close()
            raise CameraUnavailable(f"the Raspberry Pi camera stopped: {exc}") from None
