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

Live guidance (device/camera/guide.py): while a preview streams, its frames are also offered to
the guide, which analyses at most ``camera.guidance_fps`` of them a second in one thread (newest
first) with the *preview recognizer*: detector and face mesh on one interpreter thread, no embedder
loaded. ``/camera/guidance.json`` gives the newest advice (face box, the failing components' fixes,
"ready"); the page's local script polls it and draws the box over the preview. Why a polled JSON
endpoint rather than text drawn into the MJPEG frames or server-sent events: the advice stays text
in the page (read out by a screen reader, found by label in the browser tests, styled like the rest
of the UI), it costs no extra held gunicorn thread as an SSE stream would (each viewer already
holds one for the MJPEG), and it needs nothing beyond ``connect-src 'self'`` of the existing CSP.

Privacy: preview frames go from the camera to the browser and to the guide, which measures quality
and keeps only boxes and reports; nothing here hands them to the embedder or the gallery. Only a
still that a person chose to take (``capture_burst``) becomes a probe. A burst waits in memory
(``shelf``, ``BURST_KEEP_S``) for the officer to choose another still, and is dropped on lock.
"""

from __future__ import annotations

import logging
import threading

from flask import Blueprint, Response, current_app, jsonify, request

from device.camera.burst import BurstShelf, take_burst
from device.camera.guide import Guide, advice
from device.camera.owner import MJPEG_CONTENT_TYPE
from device.errors import CameraError
from web.auth import login_required

log = logging.getLogger(__name__)
bp = Blueprint("camera", __name__)

PREVIEW_MAX_S = 120.0
MAX_STREAMS = 2
BURST_KEEP_S = 120.0


class CameraHolder:
    """This process's camera, opened on first use; thread-safe. ``preview_recognizer()`` returns
    the recognizer that judges preview frames and burst stills (built with ``preview=True``)."""

    def __init__(self, config, preview_recognizer):
        self.config = config  # device.config.CameraConfig
        self._owner = None
        self._mutex = threading.Lock()
        self._streams: list[threading.Event] = []
        self._preview_recognizer = preview_recognizer
        self._guide = None
        self.shelf = BurstShelf(BURST_KEEP_S)

    def guide(self):
        """The live guidance of this camera's previews (None when ``camera.guidance_fps`` is 0)."""
        if not self.config.guidance_fps:
            return None
        with self._mutex:
            if self._guide is None:
                self._guide = Guide(self._preview_recognizer().faces, self.config.guidance_fps)
            return self._guide

    def advice(self, judge) -> dict:
        guide = self._guide
        return advice(guide.latest() if guide is not None else None, judge)

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

    def capture_burst(self, judge):
        """``camera.burst`` full-resolution stills, scored (``judge``: the policy's verdicts), the
        best marked; CameraError if none now."""
        owner = self.owner()
        return take_burst(owner, self.config.burst, self._preview_recognizer().faces, self.config.still_jpeg_quality,
                          judge)  # fmt: skip

    def stream(self, max_frames: int):
        """The parts of an MJPEG body, ending after ``max_frames``, ``PREVIEW_MAX_S``, a newer
        stream, a lock, or the client going away (the server then closes this generator)."""
        owner = self.owner()  # before the response starts: a missing camera is a 503, not an empty stream
        guide = self.guide()
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
                yield from owner.mjpeg(stop, max_frames, on_frame=guide.offer if guide is not None else None)
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
            guide, self._guide = self._guide, None
        self.shelf.clear()
        if guide is not None:
            guide.close()
        if owner is not None:
            owner.close()


def holder(app=None) -> CameraHolder:
    app = app or current_app
    cache = app.extensions.setdefault("fieldface", {})
    with app.extensions["fieldface_locks"]["camera"]:
        cam = cache.get("camera")
        if cam is None:
            cam = cache["camera"] = CameraHolder(app.config["FIELDFACE_CONFIG"].camera, lambda: preview_recognizer(app))
    return cam


def preview_recognizer(app):
    """Detector and face mesh for preview frames and burst stills: one thread, no embedder."""
    with app.extensions["fieldface_locks"]["camera"]:
        rec = app.config.get("FIELDFACE_PREVIEW_RECOGNIZER")
        if rec is None:
            from device.vision import Recognizer

            rec = Recognizer.from_config(app.config["FIELDFACE_CONFIG"].vision, preview=True)
            app.config["FIELDFACE_PREVIEW_RECOGNIZER"] = rec
    return rec


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


@bp.get("/camera/guidance.json")
@login_required
def guidance():
    """The newest preview frame's advice: state (waiting, no-face, adjust, ready), instructions, box."""
    from web.services import services

    policy = services().workflow.policy()
    response = jsonify(holder().advice(policy.judge_report))
    response.headers["Cache-Control"] = "no-store"
    return response
