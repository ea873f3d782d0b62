"""Camera backends by ``camera.type``; a backend whose import fails is logged, not fatal."""

from __future__ import annotations

import importlib
import logging

from device.camera.base import CameraSource
from device.errors import CameraError

log = logging.getLogger(__name__)

# type -> "module:class". Modules are imported on use: none of them may be needed on this box.
SOURCES = {
    "files": "device.camera.files:FileSource",
    "opencv": "device.camera.opencv:OpenCVSource",
    "picamera2": "device.camera.picamera:Picamera2Source",
}


def make_source(config) -> CameraSource:
    """The backend for ``config.type``; CameraError for ``disabled`` (no camera on this unit)."""
    if config.type == "disabled":
        raise CameraError('no camera on this unit (camera.type = "disabled")')
    module_name, _, class_name = SOURCES[config.type].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        log.error("camera backend %s cannot be imported: %s", config.type, exc)
        raise CameraError(f"camera backend {config.type!r} cannot be loaded: {exc}") from None
    return getattr(module, class_name)(config)
