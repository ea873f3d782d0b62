"""The unit's camera on the new-search screen: a live low-resolution preview and a Capture.

One process owns the camera (device/camera/owner.py), and on a unit that process is this one: the
camera is opened lazily, on the first page that needs it, so a unit that only imports files never
touches the device, and it is closed when the box locks (``close_camera``).

The preview is an MJPEG stream in a plain ``<img>``: no script is needed to see it, it satisfies
the CSP (``img-src 'self'``) and Chromium on the Pi decodes it natively. Each stream holds one of
gunicorn's few request threads, so streams are bounded three ways: a stream ends after
``PREVIEW_MAX_S`` (the page then offers to resume it), at most ``MAX_STREAMS`` run at once (the
newest viewer wins: there is one camera and one person framing with it), and every stream stops
at once when the box locks. A page that goes away closes its connection, which ends its stream.

Privacy: preview frames go from the camera to the browser and nowhere else; nothing here hands
them to recognition. Only a still that a person chose to take (``capture``) becomes a probe.
"""

from __future__ import annotations

import logging
import threading

from flask import Blueprint, Response, current_app, request

from device.camera.owner import MJPEG_CONTENT_TYPE
from device.errors import CameraError
from web.auth import login_required

log = logging.getLogger(__name__)
bp = Blueprint("camera", __name__)

PREVIEW_MAX_S = 120.0
MAX_STREAMS = 2


class CameraHolder:
    """This process's camera, opened on first use; thread-safe."""

    def __init__(self, config):
        self.config = config  # device.config.CameraConfig
        self._owner = None
        self._mutex = threading.Lock()
        self._streams: list[threading.Event] = []

    @property
    def enabled(self) -> bool:
        return self.config.type != "disabled"

    @property
    def is_open(self) -> bool:
        return self._owner is not None

    def owner(self):
        """The CameraOwner; CameraError when disabled or owned by another process (retried next call)."""
        with self._mutex:
            if self._owner is None:
                if not self.enabled:
                    raise CameraError('no camera on this unit (camera.type = "disabled")')
                from device.camera import open_camera

                self._owner = open_camera(self.config)
            return self._owner

    def state(self) -> dict:
        """``{"state": "ok"|"unavailable", "detail": ...}`` for the page."""
        try:
            owner = self.owner()
        except CameraError as exc:
            return {"state": "unavailable", "detail": str(exc)}
        status = owner.status()
        if status["state"] != "ok":
            # The owner retries a lost camera only when asked for a picture (every camera.retry_s).
            try:
                owner.preview_jpeg()
            except CameraError:
                pass
            status = owner.status()
        return {"state": status["state"], "detail": status["detail"]}

    def capture(self) -> tuple[bytes, str]:
        """A full-resolution still as JPEG bytes, and what took it; CameraError if none now."""
        still = self.owner().capture_still()
        return still.jpeg(self.config.still_jpeg_quality), still.source

    def stream(self, max_frames: int):
        """The parts of an MJPEG body, ending after ``max_frames``, ``PREVIEW_MAX_S``, a newer
        stream, a lock, or the client going away (the server then closes this generator)."""
        owner = self.owner()  # before the response starts: a missing camera is a 503, not an empty stream
        stop = threading.Event()
        timer = threading.Timer(PREVIEW_MAX_S, stop.set)
        timer.daemon = True

        def parts():
            # Registered when the body starts, so a response never sent holds nothing.
            with self._mutex:
                self._streams.append(stop)
                while len(self._streams) > MAX_STREAMS:
                    self._streams.pop(0).set()
            timer.start()
            try:
                yield from owner.mjpeg(stop, max_frames)
            finally:
                timer.cancel()
                with self._mutex:
                    if stop in self._streams:
                        self._streams.remove(stop)

        return parts()

    def close(self) -> None:
        """Stop every preview and release the camera (the box is locking)."""
        with self._mutex:
            for stop in self._streams:
                stop.set()
            self._streams.clear()
            owner, self._owner = self._owner, None
        if owner is not None:
            owner.close()


def holder(app=None) -> CameraHolder:
    app = app or current_app
    cache = app.extensions.setdefault("fieldface", {})
    with app.extensions["fieldface_locks"]["camera"]:
        cam = cache.get("camera")
        if cam is None:
            cam = cache["camera"] = CameraHolder(app.config["FIELDFACE_CONFIG"].camera)
    return cam


def close_camera(app) -> None:
    cam = app.extensions.get("fieldface", {}).get("camera")
    if cam is not None:
        cam.close()


def page_state() -> dict | None:
    """What the new-search page shows: None when the unit has no camera."""
    cam = holder()
    return cam.state() if cam.enabled else None


@bp.get("/camera/preview.mjpg")
@login_required
def preview():
    cam = holder()
    fps = cam.config.preview_fps
    cap = max(1, int(fps * PREVIEW_MAX_S))
    try:
        frames = min(cap, max(1, int(request.args.get("frames", cap))))
    except ValueError:
        frames = cap
    try:
        body = cam.stream(frames)
    except CameraError as exc:
        return Response(str(exc), status=503, mimetype="text/plain")
    # Never buffered by a proxy, never cached: each frame goes out as it is taken.
    return Response(body, content_type=MJPEG_CONTENT_TYPE, headers={"X-Accel-Buffering": "no"}, direct_passthrough=True)
