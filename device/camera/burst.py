"""Best-shot burst: Capture takes a few full-resolution stills and keeps the best.

Each still is judged as it is taken (detection, landmarks, quality: the preview recognizer, no
embedder) and JPEG-encoded; the full-resolution frame is then dropped before the next is taken.
The best is the one with the highest unified quality score (device/vision/quality.py: the
predicted share of identity signal kept) among the stills the quality gate would search (verdict
pass or warn), the earliest on a tie; then the failing ones by their score; a still without a face
ranks last. (The score and the gate can disagree: a dark but sharp face keeps most of its identity
signal, score ~92, yet fails "more light"; the kept still should be one the search accepts.)
The burst is held in memory only (the web process's ``BurstShelf``), for the officer to choose
another still, for a bounded time, and dropped on lock; nothing here writes anything.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class BurstStill:
    jpeg: bytes
    size: tuple[int, int]
    faces: int
    unified: int | None  # of the largest face; None: no face
    verdict: str | None
    fixes: tuple[str, ...]  # what the largest face's failing or warning components say to do

    @property
    def rank_key(self) -> tuple[int, int]:
        if self.unified is None:
            return (-1, -1)
        return (0 if self.verdict == "fail" else 1, self.unified)


@dataclass(frozen=True)
class Burst:
    stills: tuple[BurstStill, ...]
    source: str  # what took it (the camera's describe())
    best: int  # index of the still kept

    @property
    def size(self) -> int:
        return len(self.stills)

    def summary(self, chosen: int) -> dict:
        """For the audit entry: the burst size, the still used and its quality, every still's score."""
        return {"size": self.size, "chosen": chosen, "best": self.best, "chosen_quality": self.stills[chosen].unified,
                "scores": [s.unified for s in self.stills]}  # fmt: skip


def take_burst(owner, count: int, faces, jpeg_quality: int, judge=lambda report: report) -> Burst:
    """``count`` stills from ``owner`` (a CameraOwner), scored by ``faces(rgb) -> [Face]``; ``judge``
    re-judges a QualityReport by the policy in force (``Policy.judge_report``)."""
    source = owner.source.describe()

    def assess(still) -> BurstStill:
        found = faces(still.rgb)
        top = judge(found[0].quality) if found else None
        fixes = tuple(dict.fromkeys(c.fix for c in top.components if c.status != "pass" and c.fix)) if top else ()
        return BurstStill(still.jpeg(jpeg_quality), still.size, len(found), top.unified if top else None,
                          top.verdict if top else None, fixes)  # fmt: skip

    stills = tuple(owner.capture_burst(count, assess))
    return Burst(stills, source, best_of(stills))


def best_of(stills) -> int:
    """The index of the still to keep (module docstring), the earliest on a tie."""
    return max(range(len(stills)), key=lambda i: (stills[i].rank_key, -i))


class BurstShelf:
    """Bursts waiting for the officer's choice, in memory: one per examination, each kept
    ``keep_s`` seconds at most; ``clear`` on lock. Thread-safe."""

    def __init__(self, keep_s: float, clock=time.monotonic):
        self.keep_s = keep_s
        self._clock = clock
        self._lock = threading.Lock()
        self._held: dict[int, tuple[float, int, Burst]] = {}  # exam id -> (when, user id, burst)

    def _expire(self) -> None:
        limit = self._clock() - self.keep_s
        for key in [k for k, (at, _u, _b) in self._held.items() if at < limit]:
            del self._held[key]

    def put(self, exam_id: int, user_id: int, burst: Burst) -> None:
        with self._lock:
            self._expire()
            self._held[exam_id] = (self._clock(), user_id, burst)

    def get(self, exam_id: int, user_id: int) -> Burst | None:
        """The examination's burst, to the user who took it only, while it is kept."""
        with self._lock:
            self._expire()
            held = self._held.get(exam_id)
            return held[2] if held is not None and held[1] == user_id else None

    def remaining_s(self, exam_id: int) -> float:
        with self._lock:
            held = self._held.get(exam_id)
            return max(0.0, self.keep_s - (self._clock() - held[0])) if held else 0.0

    def drop(self, exam_id: int) -> None:
        with self._lock:
            self._held.pop(exam_id, None)

    def clear(self) -> int:
        with self._lock:
            count = len(self._held)
            self._held.clear()
            return count
