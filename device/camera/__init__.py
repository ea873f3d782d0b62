"""The unit's camera: one interface over picamera2, OpenCV and still files, chosen by ``camera.type``.

The public API::

    camera = open_camera(config.camera)        # CameraOwner: this process owns the camera
    still = camera.capture_still()             # Still: full resolution, for a probe
    still.jpeg(quality)                        # bytes for Recognizer.analyze / storage
    for chunk in camera.mjpeg(stop):           # multipart/x-mixed-replace body for the touchscreen
        ...
    camera.status()                            # {"state": "ok"|"unavailable"|..., "detail": ...}
    camera.close()

    stills = camera.capture_burst(n, each)     # n stills, each handed to ``each`` as it is taken

Privacy: the preview is for framing and quality only. It is handed out as JPEG bytes of a downscaled
frame, and to the live guidance (guide.py), which measures quality on it with a recognizer that has
no embedder and keeps only boxes and reports; only a still that a person chose to take (a burst,
burst.py, of which one still is kept) becomes a probe.
"""

from device.camera.base import CameraSource, Still
from device.camera.owner import CameraOwner, open_camera
from device.camera.registry import SOURCES, make_source

__all__ = ["SOURCES", "CameraOwner", "CameraSource", "Still", "make_source", "open_camera"]
