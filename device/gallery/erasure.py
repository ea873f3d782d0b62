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
from device.gallery.records import bump_version, get_subject, refuse_if_central


def delete_subject(gallery, subject_id: int, actor, reason: str, action: str = "gallery.delete_subject") -> dict:
    if not (reason or "").strip():
        raise UsageError("deleting a subject needs a reason, which is recorded")
    with gallery.store.connection() as conn:
        subject = get_subject(conn, subject_id)
        if action == "gallery.delete_subject":  # retention (purge.subject) applies to every gallery
            refuse_if_central(conn, subject.gallery)
        with gallery.store.transaction(conn):
            gallery_id, embedding_ids, images, version = _erase_rows(
                conn, gallery.audit, subject, actor.name, actor.role, action, {"reason": reason.strip()[:200]}
            )
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


def _erase_rows(conn, audit, subject, actor: str, role: str, action: str, extra: dict):
    """Delete one subject's rows and record it, inside the caller's transaction.

    The entry names the subject by the unit's number *and* the agency's reference and legal basis
    (ids and references only: never the name), so central can answer for the person, not the row."""
    gallery_id = conn.execute("SELECT gallery_id FROM subjects WHERE id = ?", (subject.id,)).fetchone()[0]
    embedding_ids = [
        row[0]
        for row in conn.execute(
            "SELECT e.id FROM embeddings e JOIN face_images f ON f.id = e.image_id WHERE f.subject_id = ?",
            (subject.id,),
        )
    ]
    images = conn.execute("SELECT count(*) FROM face_images WHERE subject_id = ?", (subject.id,)).fetchone()[0]
    conn.execute("DELETE FROM subjects WHERE id = ?", (subject.id,))
    version = bump_version(conn, gallery_id)
    details = {"gallery": subject.gallery, "reference": subject.reference, "legal_basis": subject.legal_basis[:200],
               "images": images, "embeddings": len(embedding_ids), **extra}  # fmt: skip
    audit.append_in(conn, [Draft(action, actor, role, f"subject:{subject.id}", details=details)])
    return gallery_id, embedding_ids, images, version


# gallery.erasure_order: an agency's order (device/gallery/central.py), re-applied after a restore too.
ERASURE_ACTIONS = ("gallery.delete_subject", "purge.subject", "gallery.erasure_order")


def reapply_erasures(store, audit, erasures, *, enrolled_before: str, actor: str, why: str) -> tuple[list, list]:
    """Erase again, on a restored unit, what erasure entries of a lost timeline erased; returns
        ``(erased subject ids, (seq, reason) skipped)``.

        A local subject is erased only if it is the one the entry erased: the same number, gallery and
        reference, enrolled before ``enrolled_before`` (the backup's time: a number handed out again
        after the restore belongs to someone else). Entries come from the unit's own lost timeline
        (device/sync/recovery.py); central erasure orders are among them (``gallery.erasure_order``),
    so an order applied after the backup is applied again on the restored unit.
        Each subject is its own transaction and audit entry; the index files of its gallery are
        removed (rebuilt from the database without it on next use), as delete_subject does for
        other models' files.
    """
    erased, skipped = [], []
    for entry in erasures:
        try:
            number = int(str(entry.object).removeprefix("subject:"))
        except ValueError:
            skipped.append((entry.seq, f"object {entry.object!r} names no subject"))
            continue
        with store.connection() as conn:
            try:
                subject = get_subject(conn, number)
            except UsageError:
                skipped.append((entry.seq, f"subject {number} is not on this unit (already erased)"))
                continue
            wanted = entry.details.get("gallery"), entry.details.get("reference", subject.reference)
            if (subject.gallery, subject.reference) != wanted or subject.enrolled_at > enrolled_before:
                skipped.append((entry.seq, f"subject {number} on this unit is another person"))
                continue
            with store.transaction(conn):
                gallery_id, _emb, _images, _version = _erase_rows(
                    conn, audit, subject, actor, "system", entry.action,
                    {"reason": f"{why}: erased at seq {entry.seq} of the lost timeline", "replayed_seq": entry.seq},
                )  # fmt: skip
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        for path in store.cache_dir.glob(f"index-g{gallery_id}-*.sealed"):
            path.unlink()
        erased.append(number)
    return erased, skipped


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
