"""Live capture guidance: what the quality components say about the face in the preview, now.

The officer frames the shot; the box coaches them the way passport kiosks do ("move closer",
"more light", "turn the head toward the camera") until every quality component passes ("ready").

What runs on a preview frame is detection, face-mesh landmarks, alignment and the quality
components (``Recognizer.faces`` of a recognizer built with ``preview=True``: no embedder is even
loaded). Never an embedding, never the gallery: the guidance cannot identify anyone, and the tests
prove no preview frame reaches either. Frames are never stored: the guide holds a reference to the
newest frame only until its analysis starts, and keeps only boxes and quality reports.

Budget: one analysis thread, at most ``rate`` analyses a second, the newest frame wins (frames that
arrive meanwhile replace each other unanalysed), so guidance never queues up behind the camera
and never takes more than one core (the preview recognizer runs one interpreter thread). The thread
ends by itself when no frame came for ``IDLE_S`` (the preview stopped), and on ``close`` (lock).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)
IDLE_S = 2.0


@dataclass(frozen=True)
class Seen:
    """What the guidance knows of one analysed frame: its size, and each face's box and quality."""

    width: int
    height: int
    faces: tuple  # ((box, QualityReport), ...) largest first
    seq: int  # the frame's number in this preview (increasing)
    at: float  # monotonic seconds when the analysis finished
    analysis_ms: float
    analysed: int = 1  # frames analysed so far by this guide (the others were replaced unanalysed)


class Guide:
    def __init__(self, faces, rate: float, clock=time.monotonic):
        """``faces(rgb) -> [Face]`` (the preview recognizer's ``faces``), ``rate`` analyses/s at most."""
        self._faces = faces
        self._interval = 1.0 / rate
        self._clock = clock
        self._cond = threading.Condition()
        self._frame = None
        self._frame_seq = 0
        self._seen: Seen | None = None
        self._thread: threading.Thread | None = None
        self._closed = False
        self.analysed = 0  # how many frames were analysed (the bench reads it)

    def offer(self, rgb) -> None:
        """A new preview frame: it replaces any frame not analysed yet."""
        with self._cond:
            if self._closed:
                return
            self._frame = rgb
            self._frame_seq += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="camera-guidance", daemon=True)
                self._thread.start()
            self._cond.notify()

    def _next(self):
        with self._cond:
            while self._frame is None and not self._closed:
                if not self._cond.wait(IDLE_S) and self._frame is None:
                    self._thread = None  # no frame for IDLE_S: the preview stopped; offer starts anew
                    return None, 0
            if self._closed:
                return None, 0
            frame, seq, self._frame = self._frame, self._frame_seq, None
            return frame, seq

    def _run(self) -> None:
        while True:
            frame, seq = self._next()
            if frame is None:
                return
            started = self._clock()
            try:
                faces = self._faces(frame)
            except Exception:  # a bad frame must not end the guidance; the next one may be fine
                log.debug("preview frame not analysed", exc_info=True)
                faces = []
            height, width = frame.shape[:2]
            del frame  # the frame goes now: only boxes and quality reports stay
            done = self._clock()
            with self._cond:
                if self._closed:
                    return
                self.analysed += 1
                self._seen = Seen(width, height, tuple((f.box, f.quality) for f in faces), seq, done,
                                  (done - started) * 1e3, self.analysed)  # fmt: skip
                # Throttle: wait out the rest of this analysis's slot (close wakes it at once).
                self._cond.wait_for(lambda: self._closed, max(0.0, self._interval - (done - started)))

    def latest(self) -> Seen | None:
        """The newest analysed frame's findings; None when there is none from the last ``IDLE_S``
        (the preview stopped: old advice must not describe a scene that has changed)."""
        with self._cond:
            if self._seen is not None and self._clock() - self._seen.at > IDLE_S:
                return None
            return self._seen

    def close(self) -> None:
        """Stop the thread and drop what it knows (the box is locking, or the camera closes)."""
        with self._cond:
            self._closed = True
            self._frame, self._seen = None, None
            thread = self._thread
            self._cond.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)


def advice(seen: Seen | None, judge=lambda report: report) -> dict:
    """The page's guidance for the newest analysed frame: ``state`` is ``waiting`` (no frame
    analysed yet), ``no-face``, ``adjust`` (with ``instructions``: the fixes of the failing or
    warning components, in the components' order, each once) or ``ready`` (every component passes).
    ``judge`` re-judges a QualityReport by the policy in force. Boxes are percentages of the frame."""
    if seen is None:
        return {"state": "waiting", "instructions": [], "box": None, "unified": None, "seq": 0, "analysed": 0}
    if not seen.faces:
        return {"state": "no-face", "instructions": ["point the camera at the face"], "box": None,
                "unified": None, "seq": seen.seq, "analysed": seen.analysed}  # fmt: skip
    (x0, y0, x1, y1), report = seen.faces[0]
    report = judge(report)
    fixes = []
    for component in report.components:
        if component.status != "pass" and component.fix and component.fix not in fixes:
            fixes.append(component.fix)
    if len(seen.faces) > 1:
        fixes.append("one face in the picture: the largest is assessed")
    w, h = seen.width, seen.height
    box = [round(x0 / w * 100, 2), round(y0 / h * 100, 2), round((x1 - x0) / w * 100, 2), round((y1 - y0) / h * 100, 2)]
    ready = len(seen.faces) == 1 and all(c.status == "pass" for c in report.components)
    return {"state": "ready" if ready else "adjust", "instructions": fixes, "box": box, "unified": report.unified,
            "verdict": report.verdict, "seq": seen.seq, "analysed": seen.analysed}  # fmt: skip
