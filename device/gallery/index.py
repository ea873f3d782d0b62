"""The vector index of one gallery and one model: USearch (cosine), a sealed cache of the database.

The database is the source of truth. The index is kept in memory and persisted sealed
(AES-256-GCM, device.store.sealed) in ``cache/``, behind a small header that names the gallery,
its version, the model and the vector layout; the header is the AEAD's associated data, so a file
for another version or model, or a damaged one, never opens as if it were current. Opening:

* no file, or a file that does not authenticate: rebuild from the database, with progress;
* a file of an older gallery version (another process enrolled or deleted meanwhile): catch up by
  the difference of keys, cheaper than a rebuild at a million vectors;
* the current version: used as it is.

Erasure: USearch's ``remove`` only marks a node deleted; its vector bytes stay in the serialised
index until the slot is reused. So removal also reuses the freed slots with random tombstones, and
before any write the serialised bytes are checked for every erased vector: if one is still there,
the index is rebuilt from the database (which then no longer has it) before it touches the disk.
"""

from __future__ import annotations

import hashlib
import json
import logging
import struct
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from usearch.index import Index

from device.config import GalleryConfig
from device.fsutil import write_atomic
from device.keys import Purpose
from device.store.sealed import SealError, seal, unseal

log = logging.getLogger(__name__)

MAGIC = b"FFINDEX1"
FORMAT = "fieldface-index/1"
# Tombstone keys live far above any SQLite rowid an embedding will get.
TOMBSTONE_BASE = 1 << 62
BUILD_CHUNK = 4096

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Hit:
    embedding_id: int
    score: float  # cosine similarity, -1..1


def vector_to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype="<f4").tobytes()


def blob_to_vector(blob: bytes) -> np.ndarray:
    return np.frombuffer(blob, dtype="<f4")


class GalleryIndex:
    """Search and maintain the index of (gallery, model). Thread-safe; one per process."""

    def __init__(self, store, gallery_id: int, model_id: str, ndim: int, config: GalleryConfig):
        self._store = store
        self.gallery_id = gallery_id
        self.model_id = model_id
        self.ndim = ndim
        self._config = config
        self._lock = threading.RLock()
        self._index = self._new_index()
        self.version = -1  # the gallery version the in-memory index reflects
        self._dirty = False  # in memory is newer than the sealed file

    # ---- paths and headers ---------------------------------------------------------------------

    @property
    def path(self) -> Path:
        model = hashlib.sha256(self.model_id.encode()).hexdigest()[:16]
        return self._store.cache_dir / f"index-g{self.gallery_id}-{model}.sealed"

    def _header(self, version: int) -> bytes:
        return json.dumps(
            {
                "format": FORMAT,
                "gallery": self.gallery_id,
                "version": version,
                "model": self.model_id,
                "ndim": self.ndim,
                "dtype": self._config.index_dtype,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()

    def _new_index(self) -> Index:
        return Index(
            ndim=self.ndim,
            metric="cos",
            dtype=self._config.index_dtype,
            connectivity=self._config.hnsw_connectivity,
            expansion_add=self._config.hnsw_expansion_add,
            expansion_search=self._config.hnsw_expansion_search,
        )

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, key: int) -> bool:
        return int(key) in self._index

    def keys(self) -> set[int]:
        return {int(k) for k in np.asarray(self._index.keys)} if len(self._index) else set()

    # ---- database side -------------------------------------------------------------------------

    def _db_version(self, conn) -> int:
        return conn.execute("SELECT version FROM galleries WHERE id = ?", (self.gallery_id,)).fetchone()[0]

    def _db_keys(self, conn) -> set[int]:
        rows = conn.execute(
            "SELECT id FROM embeddings WHERE gallery_id = ? AND model_id = ?", (self.gallery_id, self.model_id)
        )
        return {row[0] for row in rows}

    def _db_vectors(self, conn, keys: Iterable[int] | None) -> Iterable[tuple[np.ndarray, np.ndarray]]:
        """(keys, vectors) in chunks; all of the gallery's when ``keys`` is None."""
        if keys is None:
            cursor = conn.execute(
                "SELECT id, vector FROM embeddings WHERE gallery_id = ? AND model_id = ? ORDER BY id",
                (self.gallery_id, self.model_id),
            )
            rows_iter = iter(lambda: cursor.fetchmany(BUILD_CHUNK), [])
        else:
            wanted = sorted(keys)
            rows_iter = (
                conn.execute(
                    f"SELECT id, vector FROM embeddings WHERE id IN ({','.join('?' * len(chunk))})",  # noqa: S608
                    chunk,
                ).fetchall()
                for chunk in (wanted[i : i + 500] for i in range(0, len(wanted), 500))
            )
        for rows in rows_iter:
            if rows:
                yield (
                    np.fromiter((r[0] for r in rows), dtype=np.uint64, count=len(rows)),
                    np.stack([blob_to_vector(r[1]) for r in rows]),
                )

    # ---- open, rebuild, catch up ---------------------------------------------------------------

    def sync(self, conn, progress: Progress | None = None) -> str:
        """Bring the in-memory index to the database's current version; says what it did."""
        with self._lock:
            version = self._db_version(conn)
            if version == self.version:
                return "current"
            if self.version < 0:
                loaded = self._load()
                if loaded is None:
                    self._rebuild(conn, version, progress)
                    return "rebuilt"
                if loaded == version:
                    self.version = version
                    return "loaded"
            self._catch_up(conn, version, progress)
            return "caught up"

    def _load(self) -> int | None:
        """The version of the sealed file now in memory, or None if there is no usable file."""
        try:
            data = self.path.read_bytes()
        except FileNotFoundError:
            return None
        try:
            if not data.startswith(MAGIC):
                raise SealError("not an index file")
            (length,) = struct.unpack_from(">I", data, len(MAGIC))
            start = len(MAGIC) + 4
            header_bytes = data[start : start + length]
            header = json.loads(header_bytes)
            expected = json.loads(self._header(header.get("version", -1)))
            if header != expected:
                raise SealError(f"index is for {header.get('model')} / gallery {header.get('gallery')}")
            blob = unseal(self._store.keyring.subkey(Purpose.INDEX), data[start + length :], header_bytes)
            index = Index.restore(blob)
            if index is None or index.ndim != self.ndim:
                raise SealError("index does not restore")
        except (SealError, ValueError, struct.error, RuntimeError) as exc:
            log.warning("index cache %s unusable (%s): rebuilding from the database", self.path.name, exc)
            return None
        # Search-time parameters are not part of a saved index: restored, it would search with
        # USearch's default expansion (64), far below the recall measured with ours.
        index.expansion_search = self._config.hnsw_expansion_search
        index.expansion_add = self._config.hnsw_expansion_add
        self._index = index
        return int(header["version"])

    def _rebuild(self, conn, version: int, progress: Progress | None) -> None:
        total = len(self._db_keys(conn))
        log.info("building the index of gallery %d (%d vectors)", self.gallery_id, total)
        index, done = self._new_index(), 0
        if progress:
            progress(0, total)
        for keys, vectors in self._db_vectors(conn, None):
            index.add(keys, vectors, threads=self._config.index_threads)
            done += len(keys)
            if progress:
                progress(done, total)
        self._index = index
        self.version = version
        self._persist([])

    def _catch_up(self, conn, version: int, progress: Progress | None) -> None:
        in_db, in_index = self._db_keys(conn), self.keys()
        extra, missing = in_index - in_db, in_db - in_index
        erased = self._remove(extra)
        done, total = 0, len(missing)
        for keys, vectors in self._db_vectors(conn, missing):
            self._index.add(keys, vectors, threads=self._config.index_threads)
            done += len(keys)
            if progress:
                progress(done, total)
        self.version = version
        self._persist(erased, conn)

    # ---- mutations (called by enrollment and erasure after their transaction commits) -----------

    def apply(
        self, conn, added: dict[int, np.ndarray], removed: Iterable[int], version: int, persist: bool = True
    ) -> None:
        """Record a committed change of the gallery (``version`` is its new version).

        ``persist=False`` defers the write for bulk enrollment (call ``flush`` at the end); a
        removal is always written at once, so an erased face leaves the cache on disk too.
        """
        removed = set(removed)
        with self._lock:
            if self.version >= version:
                return  # already synced past this change
            if self.version != version - 1:
                # Someone else changed the gallery in between: the key difference covers both.
                self._catch_up(conn, version, None)
                return
            erased = self._remove(removed & self.keys())
            if added:
                keys = np.fromiter(added.keys(), dtype=np.uint64, count=len(added))
                self._index.add(keys, np.stack(list(added.values())), threads=self._config.index_threads)
            self.version = version
            self._dirty = True
            if persist or removed:
                self._persist(erased, conn)

    def flush(self, conn) -> None:
        """Write the sealed cache if in-memory changes are not on disk yet."""
        with self._lock:
            if self._dirty:
                self._persist([], conn)

    def _remove(self, keys: set[int]) -> list[bytes]:
        """Remove keys; returns the stored bytes of each vector, to prove them gone later."""
        if not keys:
            return []
        wanted = np.fromiter(sorted(keys), dtype=np.uint64, count=len(keys))
        stored = self._index.get(wanted)
        stored = stored if isinstance(stored, tuple) else tuple(stored)
        erased = [np.asarray(v).tobytes() for v in stored if v is not None]
        self._index.remove(wanted)
        # Reuse the freed slots so their vector bytes are overwritten (see the module docstring).
        rng = np.random.default_rng()
        tomb = np.arange(TOMBSTONE_BASE, TOMBSTONE_BASE + len(wanted), dtype=np.uint64)
        noise = rng.standard_normal((len(wanted), self.ndim)).astype(np.float32)
        self._index.add(tomb, noise)
        self._index.remove(tomb)
        return erased

    def _persist(self, erased: list[bytes], conn=None) -> None:
        blob = bytes(self._index.save())
        if any(vec in blob for vec in erased):
            if conn is None:
                raise RuntimeError("erased vector still serialised and no database to rebuild from")
            log.info("erased vectors survived slot reuse: rebuilding the index of gallery %d", self.gallery_id)
            self._rebuild(conn, self.version, None)
            return
        header = self._header(self.version)
        sealed = seal(self._store.keyring.subkey(Purpose.INDEX), blob, header)
        write_atomic(self.path, MAGIC + struct.pack(">I", len(header)) + header + sealed)
        self._dirty = False

    # ---- search --------------------------------------------------------------------------------

    @property
    def expansion_search(self) -> int:
        return int(self._index.expansion_search)

    @property
    def exact(self) -> bool:
        return len(self._index) <= self._config.exact_search_max

    def search(self, vector: np.ndarray, k: int, exact: bool | None = None) -> list[Hit]:
        with self._lock:
            if not len(self._index):
                return []
            exact = self.exact if exact is None else exact
            matches = self._index.search(np.asarray(vector, dtype=np.float32), min(k, len(self._index)), exact=exact)
            return [
                Hit(int(key), 1.0 - float(dist))
                for key, dist in zip(matches.keys, matches.distances, strict=True)
                if int(key) < TOMBSTONE_BASE
            ]
