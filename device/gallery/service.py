"""The gallery as one service: the store, the recognizer, the audit log and the open indexes.

CLI and web both go through ``Gallery``; every rule about enrolling, searching and erasing lives
in the modules it delegates to (enroll, search, erasure), never in a door.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from device.audit import AuditLog
from device.clock import system_now, utc
from device.config import Config
from device.gallery import enroll, erasure, search
from device.gallery.index import GalleryIndex, Progress
from device.gallery.records import require_gallery


@dataclass(frozen=True)
class Actor:
    """Who does something, as the audit log names them."""

    name: str
    role: str


class Gallery:
    def __init__(
        self,
        store,
        recognizer,
        config: Config,
        audit: AuditLog | None = None,
        clock=system_now,
        index_progress: Progress | None = None,
    ):
        self.store = store
        # Told about (re)building an index from the database, which takes minutes at a million.
        self.index_progress = index_progress
        self.recognizer = recognizer
        self.config = config
        self.audit = audit or AuditLog(store)
        # The one clock (device/workflow/users.system_now shape: an aware UTC datetime), shared with
        # the workflow: timestamps are UTC instants, retention dates UTC dates.
        self.clock = clock
        self._indexes: dict[tuple[int, str], GalleryIndex] = {}
        self._lock = threading.Lock()

    def now(self) -> str:
        return utc(self.clock())

    def today(self):
        return self.clock().date()

    @property
    def model_id(self) -> str:
        return self.recognizer.model_id

    @property
    def ndim(self) -> int:
        return self.recognizer.embedder.dimensions

    def index(self, conn, gallery_id: int, progress: Progress | None = None) -> GalleryIndex:
        """The index of ``gallery_id`` for the current model, synced with the database."""
        key = (gallery_id, self.model_id)
        with self._lock:
            index = self._indexes.get(key)
            if index is None:
                index = GalleryIndex(self.store, gallery_id, self.model_id, self.ndim, self.config.gallery)
                self._indexes[key] = index
        index.sync(conn, progress or self.index_progress)
        return index

    def close(self) -> None:
        """Let go of the in-memory indexes (embeddings of enrolled people), e.g. when the box locks."""
        with self._lock:
            self._indexes.clear()

    def forget_index(self, gallery_id: int) -> None:
        """Drop the in-memory indexes of one gallery (its files were removed: rebuilt on next use)."""
        with self._lock:
            self._indexes = {k: v for k, v in self._indexes.items() if k[0] != gallery_id}

    def flush_indexes(self) -> None:
        """Write every index with changes not yet on disk (after bulk enrollment)."""
        with self.store.connection() as conn:
            for index in list(self._indexes.values()):
                index.flush(conn)

    def index_for(self, gallery: str, progress: Progress | None = None) -> GalleryIndex:
        with self.store.connection() as conn:
            return self.index(conn, require_gallery(conn, gallery).id, progress)

    # The work itself lives in one module per capability (enroll, search, erasure); these are the
    # doors' entry points, so the CLI and the web call the same code.

    def enroll(self, info, images, actor: Actor, force_reason=None, progress=None, persist_index=True):
        return enroll.enroll(self, info, images, actor, force_reason, progress, persist_index)

    def search(self, conn, probe: search.Probe, request, policy, actor: Actor, started: str, retain_from):
        """Search a probe's embedding inside the caller's transaction (device/gallery/search.py)."""
        return search.search(self, conn, probe, request, policy, actor, started, retain_from)

    def delete_subject(self, subject_id: int, actor: Actor, reason: str) -> dict:
        return erasure.delete_subject(self, subject_id, actor, reason)

    def set_legal_hold(self, case: str, hold: bool, actor: Actor, reason: str) -> None:
        erasure.set_legal_hold(self, case, hold, actor, reason)
