"""Erasure and retention: a deleted subject leaves no image, embedding or index entry behind.

Deleting a subject removes its rows in one transaction (images and embeddings cascade), with
``secure_delete`` on so the freed pages are zeroed, then checkpoints the WAL so no old page copy
survives there, then removes the vectors from the index and rewrites the sealed index file at once
(device/gallery/index.py proves the vector bytes are gone before it writes).

Retention (device/workflow/retention.py, ``fieldface purge``) deletes subjects past their
retain-until date the same way, and erases probe images past theirs with the queries here for the
gallery's tables, except for cases on legal hold.
"""

from __future__ import annotations

from datetime import date

from device.audit import Draft
from device.errors import UsageError
from device.gallery.records import bump_version, get_subject


def delete_subject(gallery, subject_id: int, actor, reason: str, action: str = "gallery.delete_subject") -> dict:
    if not (reason or "").strip():
        raise UsageError("deleting a subject needs a reason, which is recorded")
    with gallery.store.connection() as conn:
        subject = get_subject(conn, subject_id)
        with gallery.store.transaction(conn):
            gallery_id = conn.execute("SELECT gallery_id FROM subjects WHERE id = ?", (subject_id,)).fetchone()[0]
            embedding_ids = [
                row[0]
                for row in conn.execute(
                    "SELECT e.id FROM embeddings e JOIN face_images f ON f.id = e.image_id WHERE f.subject_id = ?",
                    (subject_id,),
                )
            ]
            images = conn.execute("SELECT count(*) FROM face_images WHERE subject_id = ?", (subject_id,)).fetchone()[0]
            conn.execute("DELETE FROM subjects WHERE id = ?", (subject_id,))
            version = bump_version(conn, gallery_id)
            details = {"gallery": subject.gallery, "images": images, "embeddings": len(embedding_ids),
                       "reason": reason.strip()[:200]}  # fmt: skip
            gallery.audit.append_in(conn, [Draft(action, actor.name, actor.role, f"subject:{subject_id}",
                                                 details=details)])  # fmt: skip
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        index = gallery.index(conn, gallery_id)
        index.apply(conn, {}, embedding_ids, version)
        # Index files of this gallery for other models would keep the erased vectors until their
        # next use: remove them now; they are rebuilt from the database when needed.
        for other in gallery.store.cache_dir.glob(f"index-g{gallery_id}-*.sealed"):
            if other != index.path:
                other.unlink()
    return {"subject_id": subject_id, "gallery": subject.gallery, "images": images, "embeddings": len(embedding_ids)}


def subjects_due(conn, today: date) -> list[int]:
    """Subjects past their retain-until date (``today`` is the UTC date)."""
    rows = conn.execute(
        "SELECT id FROM subjects WHERE retain_until IS NOT NULL AND retain_until < ? ORDER BY id", (today.isoformat(),)
    )
    return [row[0] for row in rows]


def search_probes_due(conn, today: date) -> tuple[list[int], list[int]]:
    """``(due, held)``: searches still holding a probe image past its retain-until date, split by
    whether their case is on legal hold. (Searches made since the examination holds the probe
    keep no image of their own; older ones may.)"""
    due = conn.execute(
        "SELECT s.id, c.legal_hold FROM searches s JOIN cases c ON c.case_id = s.case_id"
        " WHERE s.probe_image IS NOT NULL AND s.retain_until < ? ORDER BY s.id",
        (today.isoformat(),),
    ).fetchall()
    return [sid for sid, hold in due if not hold], [sid for sid, hold in due if hold]


def erase_search_probes(conn, search_ids: list[int], now: str) -> None:
    """Inside the caller's transaction: the probe images of these searches are erased (their
    record and audit entry stay, with ``purged_at``)."""
    conn.executemany("UPDATE searches SET probe_image = NULL, purged_at = ? WHERE id = ?",
                     [(now, sid) for sid in search_ids])  # fmt: skip


def set_legal_hold(gallery, case: str, hold: bool, actor, reason: str) -> None:
    if not (reason or "").strip():
        raise UsageError("a legal hold change needs a reason, which is recorded")
    with gallery.store.connection() as conn, gallery.store.transaction(conn):
        found = conn.execute("UPDATE cases SET legal_hold = ? WHERE case_id = ?", (int(hold), case)).rowcount
        if not found:
            raise UsageError(f"no case {case!r} on this unit")
        gallery.audit.append_in(
            conn,
            [Draft("case.legal_hold", actor.name, actor.role, f"case:{case}", case,
                   details={"hold": hold, "reason": reason.strip()[:200]})],
        )  # fmt: skip
