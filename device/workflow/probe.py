"""A probe's analysis, once per image: the cache the workflow owns, and the one place a face is chosen.

Every step looks at the same picture: step 1 finds its faces, step 2 shows them again on the
working image, step 3 embeds the chosen one and searches it, the comparator shows it beside a
candidate. ``Analyses`` keeps the recognizer's analysis of each image by its SHA-256 (and each
face's embedding once it was computed), so a picture is decoded, detected and embedded once.

The cache is an object the ``Workflow`` (one per app or command) owns, never a module global: it
holds face crops and embeddings of case photos, so the web process empties it when the box locks
(``forget``), retention drops what it erased (``drop``), and entries expire after ``ttl_s`` so a
process that did not do the purge itself (the web worker, when the CLI purged) does not keep a
crop much longer than the screens need it.

Quality is judged by the policy in force (``Policy.judged``): the recognizer measures, the policy's
thresholds decide, so the screens, the ``exam.face`` audit entry and the search agree.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import OrderedDict

from device.errors import UsageError

MAX_ENTRIES = 16
TTL_S = 15 * 60


@dataclasses.dataclass
class _Entry:
    analysis: object
    at: float
    embeddings: dict = dataclasses.field(default_factory=dict)  # face index -> Embedding


class Analyses:
    """LRU of analyses by image hash; thread-safe; ``clock`` is monotonic seconds (tests pass one)."""

    def __init__(self, recognizer, max_entries: int = MAX_ENTRIES, ttl_s: float = TTL_S, clock=time.monotonic):
        self.recognizer = recognizer
        self.max_entries = max_entries
        self.ttl_s = ttl_s
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        # Bumped by every forget: an analysis that was running while the box locked is not kept.
        self._generation = 0

    def __len__(self) -> int:
        with self._lock:
            self._expire()
            return len(self._entries)

    def _expire(self) -> None:
        limit = self._clock() - self.ttl_s
        for sha in [s for s, e in self._entries.items() if e.at < limit]:
            del self._entries[sha]

    def _get(self, sha: str) -> _Entry | None:
        with self._lock:
            self._expire()
            entry = self._entries.get(sha)
            if entry is not None:
                self._entries.move_to_end(sha)
            return entry

    def _put(self, sha: str, entry: _Entry, generation: int) -> None:
        with self._lock:
            if generation != self._generation:
                return
            self._entries[sha] = entry
            self._entries.move_to_end(sha)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def analysis(self, data: bytes, sha: str):
        """The recognizer's analysis of ``data`` (whose SHA-256 is ``sha``): ImageError/NoFaceError."""
        entry = self._get(sha)
        if entry is not None:
            return entry.analysis
        generation = self._generation
        analysis = self.recognizer.analyze(data)
        self._put(sha, _Entry(analysis, self._clock()), generation)
        return analysis

    def embedding(self, data: bytes, sha: str, face_index: int):
        """The embedding of face ``face_index`` of the image (computed once per image and face)."""
        generation = self._generation
        analysis = self.analysis(data, sha)
        entry = self._get(sha)
        if entry is not None and face_index in entry.embeddings:
            return entry.embeddings[face_index]
        embedding = self.recognizer.embed(analysis.faces[face_index])
        with self._lock:
            if entry is not None and generation == self._generation:
                entry.embeddings[face_index] = embedding
        return embedding

    def drop(self, *shas: str) -> None:
        """Forget these images (retention erased them)."""
        with self._lock:
            for sha in shas:
                self._entries.pop(sha, None)

    def forget(self) -> int:
        """Drop everything (the box is locking); returns how many analyses there were."""
        with self._lock:
            count = len(self._entries)
            self._entries.clear()
            self._generation += 1
        return count


def chosen_face(analysis, face_index: int | None) -> int:
    """The face a search uses: the one named, or the only one; the one place this is decided."""
    count = len(analysis.faces)
    if face_index is None:
        if count > 1:
            raise UsageError(f"the probe shows {count} faces: choose one to search (numbered from 0, largest first)")
        return 0
    if isinstance(face_index, bool) or not isinstance(face_index, int) or not 0 <= face_index < count:
        raise UsageError(f"choose one of the {count} faces found (0 to {count - 1})")
    return face_index
