"""Enrollment: a subject's face images into a gallery, one transaction per image.

Each image is checked before anything is written: a picture it cannot read, no face, several
faces (a gallery photo must show one person: crop it), poor quality (below
``gallery.enroll_min_quality``, unless forced with a recorded reason) and duplicates (the same
bytes already in the gallery) are skipped with the reason, never half-enrolled. One transaction
writes the subject (created on its first image), the image, its embedding, the gallery's new
version and the audit entry together, so a power cut keeps all of it or none. Re-running the same
images changes nothing: they are all duplicates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, timedelta

from device.audit import Draft
from device.errors import UsageError
from device.gallery.index import vector_to_blob
from device.gallery.records import bump_version, ensure_gallery, parse_date, refuse_if_central, to_json
from device.policy import Policy

VERDICT_RANK = {"pass": 0, "warn": 1, "fail": 2}


@dataclass(frozen=True)
class SubjectInfo:
    display_name: str
    legal_basis: str
    gallery: str
    reference: str | None = None
    category: str = ""
    source: str = ""
    retain_until: str | None = None

    def checked(self, default_retain_days: int, today: date) -> SubjectInfo:
        name = (self.display_name or "").strip()
        if not name or len(name) > 200:
            raise UsageError("a subject needs a display name of 1-200 characters")
        if not (self.legal_basis or "").strip():
            raise UsageError(f"subject {name!r}: a legal basis for holding this person's face is required")
        retain = parse_date(self.retain_until, f"subject {name!r}: retain-until")
        if retain is None and default_retain_days:
            retain = (today + timedelta(days=default_retain_days)).isoformat()
        if retain is not None and retain <= today.isoformat():
            raise UsageError(f"subject {name!r}: retain-until {retain} is not in the future")
        reference = (self.reference or "").strip() or None
        return SubjectInfo(
            name, self.legal_basis.strip(), self.gallery, reference, self.category.strip(), self.source.strip(), retain
        )


@dataclass(frozen=True)
class ImageOutcome:
    label: str  # file name or manifest line, for the report
    status: str  # "enrolled" | "skipped"
    reason: str = ""
    subject_id: int | None = None
    image_id: int | None = None


@dataclass
class EnrollReport:
    outcomes: list[ImageOutcome] = field(default_factory=list)

    @property
    def enrolled(self) -> list[ImageOutcome]:
        return [o for o in self.outcomes if o.status == "enrolled"]

    @property
    def skipped(self) -> list[ImageOutcome]:
        return [o for o in self.outcomes if o.status == "skipped"]

    def to_dict(self) -> dict:
        return {
            "enrolled": len(self.enrolled),
            "skipped": len(self.skipped),
            "images": [o.__dict__ for o in self.outcomes],
        }


def _find_subject(conn, gallery_id: int, info: SubjectInfo) -> int | None:
    """A subject is its reference within the gallery; without one, its display name."""
    if info.reference:
        row = conn.execute(
            "SELECT id FROM subjects WHERE gallery_id = ? AND reference = ?", (gallery_id, info.reference)
        ).fetchone()
    else:
        row = conn.execute(
            "SELECT id FROM subjects WHERE gallery_id = ? AND reference IS NULL AND display_name = ? ORDER BY id",
            (gallery_id, info.display_name),
        ).fetchone()
    return row[0] if row else None


def _check_image(gallery, data: bytes, force_reason: str | None, policy: Policy):
    """(face, embedding, analysis) or the reason to skip this image."""
    from device.errors import ImageError, NoFaceError

    try:
        analysis = gallery.recognizer.analyze(data)
    except (ImageError, NoFaceError) as exc:
        return str(exc)
    if len(analysis.faces) > 1:
        return f"{len(analysis.faces)} faces in the picture: enroll a crop showing only this person"
    face = policy.reassess(analysis.faces[0])
    bar = policy.enroll_min_quality
    if VERDICT_RANK[face.quality.verdict] > VERDICT_RANK[bar] and not force_reason:
        return f"quality {face.quality.verdict} (below the enrollment bar '{bar}'): " + "; ".join(face.quality.reasons)
    return face, gallery.recognizer.embed(face), analysis


def enroll(
    gallery,
    info: SubjectInfo,
    images: list[tuple[str, bytes]],
    actor,
    force_reason: str | None = None,
    progress: Callable[[ImageOutcome], None] | None = None,
    persist_index: bool = True,
) -> EnrollReport:
    """Enroll ``images`` (label, bytes) for one subject. Skips are reported, not raised."""
    # The bar, its thresholds and the default retention: the policy in force (device/policy.py).
    policy = Policy.load(gallery.store, gallery.config)
    info = info.checked(policy.gallery_retain_days, gallery.today())
    with gallery.store.connection() as conn:
        refuse_if_central(conn, info.gallery)
    if force_reason is not None and not force_reason.strip():
        raise UsageError("--force needs a reason, which is recorded")
    report = EnrollReport()
    index = None
    # One connection for the whole run (opening one costs about as much as a small insert), and
    # the next image is analysed on a worker thread while this one commits: TFLite and fsync both
    # release the GIL, so recognition and the durable write overlap.
    with gallery.store.connection() as conn, ThreadPoolExecutor(max_workers=1) as pool:

        def prepare(label: str, data: bytes) -> _Pending:
            sha = hashlib.sha256(data).hexdigest()
            duplicate = _duplicate_of(conn, info.gallery, sha)
            future = None if duplicate else pool.submit(_check_image, gallery, data, force_reason, policy)
            return _Pending(label, data, sha, future)

        queue = iter(images)
        upcoming = next((prepare(*item) for item in queue), None)
        while upcoming is not None:
            current = upcoming
            upcoming = next((prepare(*item) for item in queue), None)
            outcome, index = _enroll_one(gallery, conn, info, current, actor, force_reason, index, policy)
            report.outcomes.append(outcome)
            if progress:
                progress(outcome)
        if index is not None and persist_index:
            index.flush(conn)
    return report


@dataclass
class _Pending:
    label: str
    data: bytes
    sha: str
    check: Future | None  # None: a duplicate, not analysed


def _duplicate_of(conn, gallery_name: str, sha: str) -> int | None:
    row = conn.execute(
        "SELECT f.subject_id FROM face_images f JOIN galleries g ON g.id = f.gallery_id"
        " WHERE g.name = ? AND f.sha256 = ?",
        (gallery_name, sha),
    ).fetchone()
    return row[0] if row else None


def _enroll_one(gallery, conn, info, pending: _Pending, actor, force_reason, index, policy):
    label, data, sha = pending.label, pending.data, pending.sha
    # Checked again at commit time: the same bytes may come twice in one run.
    duplicate = _duplicate_of(conn, info.gallery, sha)
    if duplicate is not None:
        return ImageOutcome(label, "skipped", f"duplicate: already enrolled (subject {duplicate})", duplicate), index
    checked = pending.check.result() if pending.check else _check_image(gallery, data, force_reason, policy)
    if isinstance(checked, str):
        return ImageOutcome(label, "skipped", checked), index
    face, embedding, analysis = checked
    forced = force_reason.strip() if force_reason and face.quality.verdict != "pass" else None
    now = gallery.now()
    with gallery.store.transaction(conn):
        gal = ensure_gallery(conn, info.gallery, now)
        subject_id = _find_subject(conn, gal.id, info)
        created = subject_id is None
        if created:
            subject_id = conn.execute(
                "INSERT INTO subjects(gallery_id, display_name, reference, category, legal_basis, source,"
                " enrolled_by, enrolled_at, retain_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (gal.id, info.display_name, info.reference, info.category, info.legal_basis, info.source,
                 actor.name, now, info.retain_until),
            ).lastrowid  # fmt: skip
        image_id = conn.execute(
            "INSERT INTO face_images(subject_id, gallery_id, sha256, format, width, height, face_index, quality,"
            " forced, image, added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (subject_id, gal.id, sha, analysis.format, analysis.width, analysis.height, face.index,
             to_json(face.quality.to_dict()), forced, data, actor.name, now),
        ).lastrowid  # fmt: skip
        embedding_id = conn.execute(
            "INSERT INTO embeddings(image_id, gallery_id, model_id, vector) VALUES (?, ?, ?, ?)",
            (image_id, gal.id, embedding.model_id, vector_to_blob(embedding.vector)),
        ).lastrowid
        version = bump_version(conn, gal.id)
        details = {"gallery": info.gallery, "reference": info.reference, "legal_basis": info.legal_basis[:200],
                   "sha256": sha, "quality": face.quality.verdict, "new_subject": created}  # fmt: skip
        if forced:
            details["forced"] = forced
        (entry,) = gallery.audit.append_in(
            conn, [Draft("gallery.enroll", actor.name, actor.role, f"subject:{subject_id}/image:{image_id}",
                         details=details)]
        )  # fmt: skip
        conn.execute("UPDATE face_images SET audit_seq = ? WHERE id = ?", (entry.seq, image_id))  # audit verify
    index = gallery.index(conn, gal.id) if index is None else index
    index.apply(conn, {embedding_id: embedding.vector}, [], version, persist=False)
    reason = f"forced: {forced}" if forced else ""
    return ImageOutcome(label, "enrolled", reason, subject_id, image_id), index
