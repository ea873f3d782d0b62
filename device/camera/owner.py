"""``CameraOwner``: the one holder of the camera in the one process allowed to have it.

Two processes opening one camera fight over it (V4L2 and libcamera refuse the second, RTSP servers
often limit clients), so ownership is an exclusive ``flock`` on ``camera.lock_file``: a second
owner fails at once with the first one's pid. Inside the process a mutex serialises stills and
preview frames. A camera that disappears is reported in ``status()`` and reopened every
``camera.retry_s``; it never takes the process down.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import cv2

from device.camera.base import CameraSource, CameraUnavailable, Still
from device.camera.registry import make_source
from device.errors import CameraError

log = logging.getLogger(__name__)

BOUNDARY = "frame"
MJPEG_CONTENT_TYPE = f"multipart/x-mixed-replace; boundary={BOUNDARY}"


class CameraOwner:
    def __init__(self, source: CameraSource, config, *, clock=time.monotonic):
        self.source = source
        self.config = config
        self._clock = clock
        self._mutex = threading.Lock()
        self._lock_fd: int | None = None
        self._open = False
        self._last_try = float("-inf")
        self._state, self._detail = "closed", ""

    # -- ownership --
    def acquire(self) -> None:
        """Take the camera for this process; CameraError naming the owner if another has it."""
        path = Path(self.config.lock_file)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise CameraError(f"camera lock file {path}: {exc.strerror} (set camera.lock_file)") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise CameraError(f"the camera is owned by another process (pid {owner}); one process owns it") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._lock_fd = fd
        self._try_open(force=True)

    def close(self) -> None:
        with self._mutex:
            if self._open:
                self.source.close()
                self._open = False
            self._state = "closed"
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    def __enter__(self) -> CameraOwner:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- (re)opening --
    def _try_open(self, force: bool = False) -> bool:
        if self._open:
            return True
        if self._lock_fd is None:
            raise CameraError("the camera was not acquired by this process")
        now = self._clock()
        if not force and now - self._last_try < self.config.retry_s:
            return False
        self._last_try = now
        try:
            self.source.open()
        except CameraUnavailable as exc:
            self._report("unavailable", str(exc))
            return False
        self._open = True
        self._report("ok", self.source.describe())
        return True

    def _report(self, state: str, detail: str) -> None:
        if (state, detail) != (self._state, self._detail):
            # A camera lost while in use is news for the journal; one missing from the start is
            # already said by the caller (the CLI's error line, the UI's status).
            lost = state == "unavailable" and self._state == "ok"
            (log.warning if lost else log.info)("camera %s: %s", state, detail)
        self._state, self._detail = state, detail

    def _grab(self, method: str):
        return self._holding(getattr(self.source, method))

    def _holding(self, take):
        """``take()`` with the camera held and open; a camera lost meanwhile is reported."""
        with self._mutex:
            if not self._try_open():
                raise CameraUnavailable(f"camera unavailable: {self._detail}")
            try:
                return take()
            except CameraUnavailable as exc:
                self._open = False
                self._report("unavailable", str(exc))
                raise

    # -- pictures --
    def capture_still(self) -> Still:
        """A full-resolution picture for a probe; CameraUnavailable (exit 8) if there is none now."""
        return Still(self._grab("still"), self.source.describe())

    def capture_burst(self, count: int, each=lambda still: still) -> list:
        """``count`` full-resolution pictures taken one after the other, with the camera held
        throughout (no preview frame between them), each handed to ``each`` as it is taken and
        ``each``'s results returned (so a 12 MP frame is dropped before the next is taken);
        CameraUnavailable if the camera is away."""
        return self._holding(lambda: [each(Still(rgb, self.source.describe())) for rgb in self.source.burst(count)])

    def preview_jpeg(self, frame=None) -> bytes:
        """A preview frame (``frame``, or a new one) as JPEG bytes for the touchscreen."""
        frame = self._grab("preview") if frame is None else frame
        ok, data = cv2.imencode(
            ".jpg", cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, self.config.preview_jpeg_quality]
        )
        if not ok:
            raise CameraError("could not encode the preview frame")
        return data.tobytes()

    def mjpeg(self, stop: threading.Event, max_frames: int | None = None, on_frame=None) -> Iterator[bytes]:
        """Parts of a ``multipart/x-mixed-replace`` body at ``camera.preview_fps``; while the camera
        is away it waits (the page keeps its last frame and ``status()`` says why). ``on_frame``
        sees each RGB frame before it is sent (the live guidance, device/camera/guide.py)."""
        interval = 1.0 / self.config.preview_fps
        sent = 0
        while not stop.is_set() and (max_frames is None or sent < max_frames):
            started = self._clock()
            try:
                frame = self._grab("preview")
            except CameraUnavailable:
                stop.wait(min(self.config.retry_s, 1.0))
                continue
            if on_frame is not None:
                on_frame(frame)
            jpeg = self.preview_jpeg(frame)
            yield (
                f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                + jpeg
                + b"\r\n"
            )
            sent += 1
            stop.wait(max(0.0, interval - (self._clock() - started)))

    def status(self) -> dict:
        return {"type": self.config.type, "state": self._state, "detail": self._detail}


def open_camera(config) -> CameraOwner:
    """The configured camera, owned by this process (CameraError if disabled or owned elsewhere)."""
    owner = CameraOwner(make_source(config), config)
    owner.acquire()
    return owner
