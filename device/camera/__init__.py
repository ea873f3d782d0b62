"""The unit's camera: one interface over picamera2, OpenCV and still files, chosen by ``camera.type``.

The public API::

    camera = open_camera(config.camera)        # CameraOwner: this process owns the camera
    still = camera.capture_still()             # Still: full resolution, for a probe
    still.jpeg(quality)                        # bytes for Recognizer.analyze / storage
    for chunk in camera.mjpeg(stop):           # multipart/x-mixed-replace body for the touchscreen
        ...
    camera.status()                            # {"state": "ok"|"unavailable"|..., "detail": ...}
    camera.close()

Privacy: the preview is for framing and for judging light and focus only. It is handed out as JPEG
bytes of a downscaled frame and nothing in this package passes it to recognition; only a still that
a person chose to take becomes a probe.
"""

from device.camera.base import CameraSource, Still
from device.camera.owner import CameraOwner, open_camera
from device.camera.registry import SOURCES, make_source

__all__ = ["SOURCES", "CameraOwner", "CameraSource", "Still", "make_source", "open_camera"]
