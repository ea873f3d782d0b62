"""Rows of the gallery tables, and the few SQL statements more than one service needs."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date

from device.errors import UsageError

NAME_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass(frozen=True)
class GalleryRow:
    id: int
    name: str
    version: int


@dataclass(frozen=True)
class SubjectRow:
    id: int
    gallery: str
    display_name: str
    reference: str | None
    category: str
    legal_basis: str
    source: str
    enrolled_by: str
    enrolled_at: str
    retain_until: str | None
    images: int

    def to_dict(self) -> dict:
        return dict(self.__dict__)


SUBJECT_SELECT = """
SELECT s.id, g.name, s.display_name, s.reference, s.category, s.legal_basis, s.source,
       s.enrolled_by, s.enrolled_at, s.retain_until,
       (SELECT count(*) FROM face_images f WHERE f.subject_id = s.id)
FROM subjects s JOIN galleries g ON g.id = s.gallery_id
"""


def check_name(kind: str, value: str) -> str:
    if not NAME_PATTERN.match(value or ""):
        raise UsageError(f"{kind} {value!r}: use 1-64 letters, digits, '.', '_' or '-'")
    return value


def parse_date(value: str | None, what: str) -> str | None:
    """``YYYY-MM-DD`` (or empty/None) checked and normalised; UsageError otherwise."""
    if value is None or not str(value).strip():
        return None
    try:
        return date.fromisoformat(str(value).strip()).isoformat()
    except ValueError:
        raise UsageError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from None


def find_gallery(conn, name: str) -> GalleryRow | None:
    row = conn.execute("SELECT id, name, version FROM galleries WHERE name = ?", (name,)).fetchone()
    return GalleryRow(*row) if row else None


def require_gallery(conn, name: str) -> GalleryRow:
    gallery = find_gallery(conn, name)
    if gallery is None:
        known = [r[0] for r in conn.execute("SELECT name FROM galleries ORDER BY name")]
        raise UsageError(f"unknown gallery {name!r} (galleries on this unit: {', '.join(known) or 'none yet'})")
    return gallery


def ensure_gallery(conn, name: str, now: str) -> GalleryRow:
    """Inside a write transaction: the gallery, created on first use."""
    check_name("gallery", name)
    conn.execute("INSERT OR IGNORE INTO galleries(name, created_at) VALUES (?, ?)", (name, now))
    return find_gallery(conn, name)


def refuse_if_central(conn, name: str) -> None:
    """Galleries the agency publishes are read-only here: only its bundles and orders change them."""
    row = conn.execute("SELECT agency FROM galleries WHERE name = ?", (name,)).fetchone()
    if row and row[0]:
        raise UsageError(f"gallery {name!r} is published by the agency and read-only on this unit")


def bump_version(conn, gallery_id: int) -> int:
    conn.execute("UPDATE galleries SET version = version + 1 WHERE id = ?", (gallery_id,))
    return conn.execute("SELECT version FROM galleries WHERE id = ?", (gallery_id,)).fetchone()[0]


def list_subjects(conn, gallery: str | None = None) -> list[SubjectRow]:
    if gallery:
        rows = conn.execute(SUBJECT_SELECT + " WHERE g.name = ? ORDER BY s.id", (gallery,))
    else:
        rows = conn.execute(SUBJECT_SELECT + " ORDER BY s.id")
    return [SubjectRow(*row) for row in rows]


def get_subject(conn, subject_id: int) -> SubjectRow:
    row = conn.execute(SUBJECT_SELECT + " WHERE s.id = ?", (subject_id,)).fetchone()
    if row is None:
        raise UsageError(f"no subject {subject_id} on this unit")
    return SubjectRow(*row)


def to_json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def image_ids(conn, subject_id: int) -> list[int]:
    """A subject's face image ids, oldest first."""
    return [r[0] for r in conn.execute("SELECT id FROM face_images WHERE subject_id = ? ORDER BY id", (subject_id,))]


def image_bytes(conn, image_id: int) -> bytes | None:
    """A gallery image as enrolled; None once erased."""
    row = conn.execute("SELECT image FROM face_images WHERE id = ?", (image_id,)).fetchone()
    return bytes(row[0]) if row else None


def candidate_image(conn, search_id: int, rank: int) -> bytes | None:
    """The gallery image a search's candidate was found by; None once the subject was erased."""
    row = conn.execute(
        "SELECT f.image FROM candidates c JOIN face_images f ON f.id = c.image_id WHERE c.search_id = ? AND c.rank = ?",
        (search_id, rank),
    ).fetchone()
    return bytes(row[0]) if row else None


def gallery_sizes(conn) -> list[dict]:
    """Every gallery with its version and how many subjects, images and embeddings it holds."""
    rows = conn.execute(
        "SELECT g.name, g.version, (SELECT count(*) FROM subjects s WHERE s.gallery_id = g.id),"
        " (SELECT count(*) FROM face_images f WHERE f.gallery_id = g.id),"
        " (SELECT count(*) FROM embeddings e WHERE e.gallery_id = g.id) FROM galleries g ORDER BY g.name"
    ).fetchall()
    keys = ("name", "version", "subjects", "images", "embeddings")
    return [dict(zip(keys, row, strict=True)) for row in rows]
