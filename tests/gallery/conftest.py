"""Gallery fixtures: a real store, the real models, and helpers to read what is on disk."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from device.gallery import Actor, Gallery, SubjectInfo
from device.keys import Purpose
from device.store.db import DB_FILE
from tests.vision.conftest import encode, photo_bytes, photo_rgb

EXAMINER = Actor("examiner1", "examiner")


@pytest.fixture
def gallery(store, recognizer, fast_config) -> Gallery:
    return Gallery(store, recognizer, fast_config)


def subject(name: str, gallery: str = "default", **kw) -> SubjectInfo:
    return SubjectInfo(name, "test: consented volunteer", gallery, **kw)


def enroll_people(gallery: Gallery) -> dict[str, int]:
    """Two photos of one person and one of another; returns subject ids by name."""
    a = gallery.enroll(subject("Person A", reference="A-1"),
                       [("obama.jpg", photo_bytes("obama.jpg")), ("obama3.jpg", photo_bytes("obama3.jpg"))],
                       EXAMINER)  # fmt: skip
    b = gallery.enroll(subject("Person B"), [("biden.jpg", photo_bytes("biden.jpg"))], EXAMINER)
    assert len(a.enrolled) == 2 and len(b.enrolled) == 1, (a, b)
    return {"A": a.enrolled[0].subject_id, "B": b.enrolled[0].subject_id}


def two_faces() -> bytes:
    left, right = photo_rgb("obama.jpg"), photo_rgb("biden.jpg")
    h = min(left.shape[0], right.shape[0])
    scale = lambda img: cv2.resize(img, (int(img.shape[1] * h / img.shape[0]), h))  # noqa: E731
    return encode(np.hstack([scale(left), scale(right)]), ".jpg")


def blurred(name: str, sigma: float = 12) -> bytes:
    return encode(cv2.GaussianBlur(photo_rgb(name), (0, 0), sigma), ".jpg")


def decrypted_pages(store) -> bytes:
    """Every page of the database file decrypted by hand (AES-256-CBC, SQLCipher 4 layout), free
    pages included: what an attacker holding the key would see, beyond what SQL returns."""
    with store.connection() as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw = (store.data_dir / DB_FILE).read_bytes()
    key, size, reserve = store.keyring.subkey(Purpose.DATABASE), 4096, 80
    out = []
    for offset in range(0, len(raw), size):
        page = raw[offset : offset + size]
        start = 16 if offset == 0 else 0  # page 1 starts with the salt
        decryptor = Cipher(algorithms.AES(key), modes.CBC(page[size - reserve : size - reserve + 16])).decryptor()
        out.append(decryptor.update(page[start : size - reserve]) + decryptor.finalize())
    return b"".join(out)


def pieces_of(data: bytes, count: int = 8, size: int = 24) -> list[bytes]:
    """Short runs spread over the last seven eighths of ``data`` (the start holds headers, tables,
    colour profiles and thumbnails that other pictures share), for the page scanners to look for."""
    start = len(data) // 8
    step = (len(data) - start - size) // count
    return [data[start + step * i : start + step * i + size] for i in range(count)]


def found_before(pieces: list[bytes], haystack: bytes) -> list[bytes]:
    """The control that makes a "gone after" check able to fail: the scanner finds the pieces
    before the erasure. A large value is cut across overflow pages (4,016 bytes of payload each),
    so a piece that happens to straddle a page boundary is not one run in the file; which ones do
    depends on the layout, so all but two must be found and those are the ones checked after."""
    found = [p for p in pieces if p in haystack]
    assert len(found) >= len(pieces) - 2, f"the scanner found only {len(found)} of {len(pieces)} pieces"
    return found


def repo_file(name: str) -> Path:
    return Path(__file__).resolve().parent.parent / "data" / name


def search(into: Gallery, probe: bytes, face_index: int | None = None, quality_override: str | None = None,
           **request):  # fmt: skip
    """The gallery's part of a search, as the workflow calls it (device/workflow/analysis.py runs
    the examination around it): the request checked by the policy, the probe's face embedded, the
    search, its candidates and its audit entry written in one transaction."""
    import hashlib
    from datetime import date

    from device.gallery import Probe, SearchRequest
    from device.gallery.search import check_request
    from device.policy import Policy
    from device.store.db import utc_now
    from device.workflow.probe import chosen_face

    policy = Policy.load(into.store, into.config)
    req = check_request(SearchRequest(**request, quality_override=quality_override), policy)
    analysis = policy.judged(into.recognizer.analyze(probe))
    face = analysis.faces[chosen_face(analysis, face_index)]
    facts = Probe(hashlib.sha256(probe).hexdigest(), analysis.format, face, into.recognizer.embed(face))
    with into.store.transaction() as conn:
        conn.execute("INSERT OR IGNORE INTO cases(case_id, created_at, created_by) VALUES (?, ?, ?)",
                     (req.case, utc_now(), EXAMINER.name))  # fmt: skip
        result, draft = into.search(conn, facts, req, policy, EXAMINER, utc_now(), date.today())
        into.audit.append_in(conn, [draft])
    return result
