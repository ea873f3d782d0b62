"""The agency's watchlists in the central store: enroll and erase, each change in the gallery log.

Enrollment follows the unit's own rules (device/gallery/enroll.py ``_check_image``: one face,
quality at or above the enrollment bar, no duplicate) with the central host's recognizer, whose
embeddings ride along in bundles for units running the same model. An erasure removes the
subject's images and embeddings from the store at once (``secure_delete`` on SQLite), marks the
subject removed at a new gallery version (a delta then says "remove") and issues a signed
erasure order naming the agency's reference.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterator

from device.audit.entry import canonical
from device.central.store import CentralStore, now
from device.errors import UsageError
from device.gallery import bundle as fmt
from device.gallery.enroll import SubjectInfo, _check_image
from device.gallery.index import vector_to_blob
from device.gallery.records import check_name, to_json

GENESIS = "0" * 64


@contextlib.contextmanager
def transaction(store: CentralStore) -> Iterator:
    """One write transaction on the store's connection (SQLite: the write lock at once)."""
    conn = store._conn  # the store's one connection; its plumbing is DB-API on both backends
    cur = conn.cursor()
    store.backend.begin(cur, "central-gallery")
    if store.backend.dialect == "sqlite":
        cur.execute("PRAGMA secure_delete = ON")
    try:
        yield cur
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def q(store: CentralStore, cur, sql: str, params: tuple = ()) -> list[tuple]:
    cur.execute(store.backend.sql(sql), params)
    return [tuple(r) for r in cur.fetchall()] if cur.description else []


def log_change(store, cur, actor: str, action: str, obj: str, details: dict) -> tuple[int, str]:
    """Append to the gallery log chain inside the caller's transaction; ``(seq, hash)``."""
    rows = q(store, cur, "SELECT seq, hash FROM gallery_log ORDER BY seq DESC LIMIT 1")
    seq, prev = (int(rows[0][0]) + 1, rows[0][1]) if rows else (1, GENESIS)
    at = now()
    body = {"seq": seq, "at": at, "actor": actor, "action": action, "object": obj, "details": details, "prev": prev}
    digest = hashlib.sha256(canonical(body)).hexdigest()
    q(store, cur, "INSERT INTO gallery_log(seq, at, actor, action, object, details, prev, hash)"
                  " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      (seq, at, actor, action, obj, to_json(details), prev, digest))  # fmt: skip
    return seq, digest


def _bump(store, cur, gallery: str) -> int:
    rows = q(store, cur, "SELECT version FROM central_galleries WHERE name = ?", (gallery,))
    if not rows:
        q(store, cur, "INSERT INTO central_galleries(name, version, created_at) VALUES (?, 1, ?)", (gallery, now()))
        return 1
    q(store, cur, "UPDATE central_galleries SET version = version + 1 WHERE name = ?", (gallery,))
    return int(rows[0][0]) + 1


class _Checker:
    """What ``_check_image`` needs of a gallery: the recognizer."""

    def __init__(self, recognizer):
        self.recognizer = recognizer


def enroll(store, agency, recognizer, policy, info: SubjectInfo, images: list[tuple[str, bytes]], actor: str,
           today) -> dict:  # fmt: skip
    """Check every image, then write the subject, its images (sealed) and the log entry at once."""
    check_name("gallery", info.gallery)
    info = info.checked(policy.gallery_retain_days, today)
    if not info.reference or len(info.reference) > 200:
        raise UsageError("a central subject needs the agency's reference (--reference, 1-200 characters): "
                         "erasure orders name it")  # fmt: skip
    accepted, skipped = [], []
    for label, data in images:
        checked = _check_image(_Checker(recognizer), data, None, policy)
        if isinstance(checked, str):
            skipped.append({"image": label, "reason": checked})
            continue
        face, embedding, analysis = checked
        meta = {"format": analysis.format, "width": analysis.width, "height": analysis.height,
                "face_index": face.index, "quality": face.quality.to_dict()}  # fmt: skip
        accepted.append((label, hashlib.sha256(data).hexdigest(), data, meta, embedding))
    with transaction(store) as cur:
        held = {r[0] for r in q(store, cur, "SELECT sha256 FROM central_images WHERE gallery = ?", (info.gallery,))}
        fresh = [a for a in accepted if a[1] not in held]
        skipped += [{"image": a[0], "reason": "duplicate: already enrolled"} for a in accepted if a[1] in held]
        if not fresh:
            return {"enrolled": 0, "skipped": skipped, "version": None}
        version = _bump(store, cur, info.gallery)
        row = q(store, cur, "SELECT removed_version FROM central_subjects WHERE gallery = ? AND reference = ?",
                (info.gallery, info.reference))  # fmt: skip
        if row and row[0][0] is not None:
            raise UsageError(
                f"reference {info.reference} was erased by an order: enroll the person under a new reference"
            )
        if row:
            q(store, cur, "UPDATE central_subjects SET changed_version = ? WHERE gallery = ? AND reference = ?",
              (version, info.gallery, info.reference))  # fmt: skip
        else:
            q(store, cur,
              "INSERT INTO central_subjects(gallery, reference, display_name, category, legal_basis, source,"
              " retain_until, enrolled_by, enrolled_at, changed_version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
              (info.gallery, info.reference, info.display_name, info.category, info.legal_basis, info.source,
               info.retain_until, actor, now(), version))  # fmt: skip
        for _label, sha, data, meta, emb in fresh:
            where = f"{info.gallery}/{sha}"
            q(store, cur,
              "INSERT INTO central_images(gallery, reference, sha256, meta, model_id, image, embedding, added_at)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
              (info.gallery, info.reference, sha, to_json(meta), emb.model_id, agency.seal(data, where),
               agency.seal(vector_to_blob(emb.vector), where + "/embedding"), now()))  # fmt: skip
        log_change(store, cur, actor, "gallery.enroll", f"{info.gallery}/{info.reference}",
                   {"images": [a[1] for a in fresh], "legal_basis": info.legal_basis[:200], "version": version,
                    "new_subject": not row})  # fmt: skip
    return {"enrolled": len(fresh), "skipped": skipped, "version": version}


def erase(store, agency, reference: str, reason: str, actor: str) -> dict:
    """Erase the reference from every central gallery and issue the signed order, in one transaction."""
    if not (reason or "").strip():
        raise UsageError("an erasure order needs a reason, which is recorded and sent")
    if not reference or len(reference) > 200:
        raise UsageError("an erasure order names the agency's reference (1-200 characters)")
    with transaction(store) as cur:
        held = q(store, cur, "SELECT gallery FROM central_subjects WHERE reference = ? AND removed_version IS NULL"
                             " ORDER BY gallery", (reference,))  # fmt: skip
        galleries = [r[0] for r in held]
        for gallery in galleries:
            version = _bump(store, cur, gallery)
            q(store, cur, "DELETE FROM central_images WHERE gallery = ? AND reference = ?", (gallery, reference))
            # The name goes with the face; reference and legal basis stay: what the order is about.
            q(store, cur, "UPDATE central_subjects SET removed_version = ?, changed_version = ?, display_name = '',"
                          " source = '' WHERE gallery = ? AND reference = ?",
              (version, version, gallery, reference))  # fmt: skip
        number = int(q(store, cur, "SELECT coalesce(max(order_no), 0) FROM central_orders")[0][0]) + 1
        manifest = {"format": fmt.FORMAT, "kind": "erasure", "agency": agency.public, "order": number,
                    "gallery": galleries[0] if len(galleries) == 1 else "*", "reference": reference,
                    "reason": reason.strip()[:200], "issued_at": now()}  # fmt: skip
        envelope = fmt.sign(manifest, agency.private)
        order_hash = fmt.manifest_hash(manifest)
        q(store, cur, "INSERT INTO central_orders(order_no, gallery, reference, reason, agency, order_hash, envelope,"
                      " issued_at, issued_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
          (number, manifest["gallery"], reference, manifest["reason"], agency.public, order_hash,
           json.dumps(envelope, sort_keys=True), manifest["issued_at"], actor))  # fmt: skip
        log_change(store, cur, actor, "gallery.erasure_order", f"order:{number}",
                   {"reference": reference, "galleries": galleries, "order_hash": order_hash})  # fmt: skip
    return {"order": number, "hash": order_hash, "galleries": galleries, "envelope": envelope}


def expired(store, today) -> list[str]:
    """References whose retain-until date has passed in some central gallery (an order each)."""
    rows = store.query(
        "SELECT DISTINCT reference FROM central_subjects WHERE removed_version IS NULL AND retain_until IS NOT NULL"
        " AND retain_until < ? ORDER BY reference",
        (today.isoformat(),),
    )
    return [r[0] for r in rows]


def order_file(envelope: dict) -> bytes:
    return fmt.pack(envelope, [])


def subjects(store, gallery: str | None = None) -> list[dict]:
    sql = ("SELECT gallery, reference, display_name, legal_basis, retain_until, changed_version, removed_version,"
           " (SELECT count(*) FROM central_images i WHERE i.gallery = s.gallery AND i.reference = s.reference)"
           " FROM central_subjects s")  # fmt: skip
    rows = store.query(sql + (" WHERE gallery = ?" if gallery else "") + " ORDER BY gallery, reference",
                       (gallery,) if gallery else ())  # fmt: skip
    keys = ("gallery", "reference", "display_name", "legal_basis", "retain_until", "changed_version",
            "removed_version", "images")  # fmt: skip
    return [dict(zip(keys, r, strict=True)) for r in rows]


def galleries(store) -> dict[str, int]:
    return {name: int(v) for name, v in store.query("SELECT name, version FROM central_galleries ORDER BY name")}


def state_rows(store, gallery: str) -> list[tuple[str, str]]:
    """``(reference, image sha256)`` of what the gallery holds now, as the unit's digest reads it."""
    return store.query(
        "SELECT i.reference, i.sha256 FROM central_images i JOIN central_subjects s ON s.gallery = i.gallery"
        " AND s.reference = i.reference WHERE i.gallery = ? AND s.removed_version IS NULL"
        " ORDER BY i.reference, i.sha256",
        (gallery,),
    )
