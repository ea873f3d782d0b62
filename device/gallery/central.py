"""The one applier of what the agency publishes: bundles and erasure orders, from media or MQTT.

Every check comes before the first write: the container and each chunk's size and hash
(device/gallery/bundle.py), the agency's signature by a trusted key, the addressee (this unit's
X25519 key opens the content key), the version (strictly newer than what this unit holds: replay
and rollback refused; a delta needs its base), the model (the unit's model must be one the agency
accepts for this watchlist), and the whole payload decoded. Embeddings ride along for one model
id; the unit uses them only on an exact match and otherwise computes its own from the images,
still before the write.

Then one SQLite transaction writes every subject added, changed or removed, one audit entry each
(with the bundle's version and hash), the new version and a closing ``gallery.bundle_applied``
entry with the digest of the resulting gallery state: that entry is the acknowledgement central
reads from the synced audit trail. A crash or a full disk mid-apply rolls the transaction back;
the old version stays searchable and the same file (or delivery) is applied again.

Erasure orders jump the queue: the orders a bundle carries are applied before its subjects, each
with the unit's true erasure (device/gallery/erasure.py), and the closing
``gallery.erasure_applied`` entry's seq and hash are the proof that goes back upstream.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from device.audit import Draft
from device.audit.signing import parse_public_key
from device.errors import UsageError
from device.gallery import bundle as fmt
from device.gallery import restore_gate
from device.gallery.erasure import _erase_rows
from device.gallery.index import vector_to_blob
from device.gallery.records import bump_version, check_name, get_subject, parse_date, to_json
from device.keys import Purpose

log = logging.getLogger(__name__)


def bundle_private_key(store) -> X25519PrivateKey:
    return X25519PrivateKey.from_private_bytes(store.keyring.subkey(Purpose.BUNDLE_X25519))


def bundle_key(store) -> str:
    """This unit's bundle public key, for its card."""
    return fmt.x25519_public_text(bundle_private_key(store))


# ---- trust ----------------------------------------------------------------------------------------


def trust(store, text: str, actor: str, now: str, audit) -> str:
    """Accept bundles signed by the agency key in ``text`` (the line ``central agency-key`` prints:
    ``ed25519:<hex> NAME``)."""
    parts = text.strip().split(maxsplit=1)
    if not parts:
        raise UsageError("the agency key file is empty")
    key = "ed25519:" + parts[0].removeprefix("ed25519:").lower()
    parse_public_key(key)
    name = (parts[1] if len(parts) > 1 else "agency").strip()[:120]
    with store.connection() as conn, store.transaction(conn):
        if conn.execute("SELECT 1 FROM agency_keys WHERE agency = ?", (key,)).fetchone():
            return key
        conn.execute("INSERT INTO agency_keys(agency, name, trusted_at, trusted_by) VALUES (?, ?, ?, ?)",
                     (key, name, now, actor))  # fmt: skip
        audit.append_in(conn, [Draft("gallery.trust", actor, "system", f"agency:{key[8:24]}",
                                     details={"agency": key, "name": name})])  # fmt: skip
    return key


def trusted_keys(conn) -> list[str]:
    return [r[0] for r in conn.execute("SELECT agency FROM agency_keys ORDER BY agency")]


# ---- the applier ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    kind: str  # "bundle" | "erasure"
    gallery: str = ""
    version: int = 0
    added: int = 0
    changed: int = 0
    removed: int = 0
    digest: str = ""
    orders: list[dict] = field(default_factory=list)  # {"order", "subjects", "seq", "hash", "new"}
    ack_seq: int = 0
    orders_only: bool = False  # a restored unit's same-version bundle: orders applied, content kept


# Told (phase, done, total) while a bundle is checked ("checking": decoded, embeddings ready) and
# written ("writing"): applying 10,000 subjects takes a minute on this box, more on a Pi.
Progress = Callable[[str, int, int], None]


def apply_file(gallery, data: bytes, actor: str, what: str = "file", progress: Progress | None = None) -> Outcome:
    """Verify then apply one bundle or erasure order (the bytes of a file or an MQTT delivery)."""
    parsed = fmt.unpack(data, what)
    with gallery.store.connection() as conn:
        trusted = trusted_keys(conn)
    fmt.verify(parsed, trusted, what)
    if parsed.kind == "erasure":
        order = _check_order(parsed.manifest)
        out = Outcome("erasure", order["gallery"])
        out.orders.append(apply_order(gallery, parsed.manifest, parsed.hash, actor))
        return out
    return _apply_bundle(gallery, parsed, trusted, actor, what, progress or (lambda phase, done, total: None))


def _check_order(m: dict) -> dict:
    try:
        if not (isinstance(m["order"], int) and m["order"] >= 1):
            raise ValueError("order number")
        if m["gallery"] != "*":  # '*': central held no subject with it; every gallery here is searched
            check_name("gallery", m["gallery"])
        if not isinstance(m["reference"], str) or not 0 < len(m["reference"]) <= 200:
            raise ValueError("reference")
        if not isinstance(m["reason"], str):
            raise ValueError("reason")
    except (KeyError, ValueError, TypeError, UsageError) as exc:
        raise fmt.BundleError(f"the erasure order is malformed ({exc}); nothing was changed") from None
    return m


def apply_order(gallery, manifest: dict, order_hash: str, actor: str) -> dict:
    """Erase every subject that carries the order's reference, in one transaction with the proof entry."""
    m = _check_order(manifest)
    store, touched = gallery.store, set()
    with store.connection() as conn:
        done = conn.execute(
            "SELECT audit_seq, audit_hash, subjects FROM central_orders WHERE agency = ? AND order_no = ?",
            (m["agency"], m["order"]),
        ).fetchone()
        if done:
            return {"order": m["order"], "subjects": done[2], "seq": done[0], "hash": done[1], "new": False}
        with store.transaction(conn):
            ids = [r[0] for r in conn.execute("SELECT id FROM subjects WHERE reference = ? ORDER BY id",
                                              (m["reference"],))]  # fmt: skip
            seqs = []
            for number in ids:
                subject = get_subject(conn, number)
                extra = {"order": m["order"], "order_hash": order_hash, "reason": str(m["reason"])[:200]}
                gid, _emb, _img, _ver = _erase_rows(conn, gallery.audit, subject, actor, "system",
                                                    "gallery.erasure_order", extra)  # fmt: skip
                touched.add(gid)
                seqs.append(conn.execute("SELECT max(seq) FROM audit_log").fetchone()[0])
            (proof,) = gallery.audit.append_in(conn, [Draft(
                "gallery.erasure_applied", actor, "system", f"order:{m['order']}",
                details={"order": m["order"], "order_hash": order_hash, "agency": m["agency"],
                         "reference": m["reference"], "subjects": len(ids), "erasure_seqs": seqs[:16]})])  # fmt: skip
            conn.execute(
                "INSERT INTO central_orders(order_no, agency, order_hash, reference, subjects, applied_at, audit_seq,"
                " audit_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (m["order"], m["agency"], order_hash, m["reference"], len(ids), gallery.now(), proof.seq, proof.hash),
            )
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    _drop_indexes(gallery, touched)
    return {"order": m["order"], "subjects": len(ids), "seq": proof.seq, "hash": proof.hash, "new": True}


def _drop_indexes(gallery, gallery_ids) -> None:
    # The sealed index files would keep erased vectors until rewritten: remove them, they are
    # rebuilt from the database (which no longer holds them) on next use.
    for gid in gallery_ids:
        for path in gallery.store.cache_dir.glob(f"index-g{gid}-*.sealed"):
            path.unlink()
        gallery.forget_index(gid)


def _held(conn, name: str) -> tuple[int | None, str | None]:
    row = conn.execute("SELECT id, agency FROM galleries WHERE name = ?", (name,)).fetchone()
    version = conn.execute("SELECT max(version) FROM central_bundles WHERE gallery = ?", (name,)).fetchone()[0]
    if row and row[1] is None:
        raise fmt.BundleError(f"gallery {name!r} is a local gallery on this unit; an agency bundle cannot replace it")
    return version, (row[1] if row else None)


def _check_bundle(gallery, m: dict, held: int | None) -> None:
    try:
        check_name("gallery", m["gallery"])
        version, base = int(m["version"]), int(m["base"])
        models = [str(x) for x in m["models"]]
    except (KeyError, ValueError, TypeError, UsageError) as exc:
        raise fmt.BundleError(f"the bundle manifest is malformed ({exc}); nothing was changed") from None
    name = m["gallery"]
    if held is not None and version <= held:
        raise fmt.BundleError(
            f"bundle {name} version {version} is not newer than the version {held} this unit holds "
            "(replay or rollback refused); nothing was changed"
        )
    if base > 0 and (held or 0) < base:
        raise fmt.BundleError(
            f"bundle {name} version {version} is a delta from version {base}, but this unit holds "
            f"{held or 'none'}: import the full bundle (or the missing versions) first; nothing was changed"
        )
    if models and gallery.model_id not in models:  # empty: the gallery holds no image to score
        raise fmt.BundleError(
            f"bundle {name} is for model(s) {', '.join(models)[:200]}, this unit runs {gallery.model_id}: "
            "scores would not be those the agency validated; nothing was changed"
        )


def _prepare(gallery, plain: bytes, carried_model: str, total: int, progress: Progress) -> list:
    """Every record decoded and every image's embedding ready, before the write transaction."""
    out = []
    for doc, blobs in fmt.records(plain):
        progress("checking", len(out), total)
        op, ref = doc.get("op"), doc.get("reference")
        if op not in ("put", "remove") or not isinstance(ref, str) or not 0 < len(ref) <= 200:
            raise fmt.BundleError("the payload has a record without a valid op and reference")
        images = []
        if op == "put":
            for meta, data in zip(doc.get("images", []), blobs, strict=True):
                if hashlib.sha256(data).hexdigest() != meta.get("sha256"):
                    raise fmt.BundleError(f"subject {ref}: an image does not match its hash")
                images.append(_embedded(gallery, meta, data, carried_model, ref))
        out.append((doc, images))
    return out


def _embedded(gallery, meta: dict, data: bytes, carried_model: str, ref: str) -> dict:
    try:  # signed by the agency, still checked: a bad field is a refusal, not a half-written subject
        meta = {**meta, **{k: int(meta.get(k, 0)) for k in ("width", "height", "face_index")}}
        if not isinstance(meta.get("quality", {}), dict) or not isinstance(meta.get("format", ""), str):
            raise ValueError
    except (ValueError, TypeError):
        raise fmt.BundleError(f"subject {ref}: an image's description is malformed") from None
    ndim = gallery.ndim
    if carried_model == gallery.model_id and meta.get("embedding"):
        vector = np.frombuffer(fmt.unb64(meta["embedding"]), dtype="<f4")
        if vector.shape != (ndim,):
            raise fmt.BundleError(f"subject {ref}: a carried embedding has the wrong size")
        return {**meta, "data": data, "vector": vector}
    analysis = gallery.recognizer.analyze(data)  # the unit's own model, on the agency's image
    index = int(meta.get("face_index", 0))
    faces = [f for f in analysis.faces if f.index == index] or analysis.faces[:1]
    if not faces:
        raise fmt.BundleError(f"subject {ref}: this unit's model finds no face in image {meta['sha256'][:12]}")
    return {**meta, "data": data, "vector": gallery.recognizer.embed(faces[0]).vector, "face_index": faces[0].index}


def state_digest(conn, gallery_id: int) -> str:
    """What the gallery holds, as central can compute it too: each reference with its image hashes."""
    rows = conn.execute(
        "SELECT s.reference, f.sha256 FROM subjects s JOIN face_images f ON f.subject_id = s.id"
        " WHERE s.gallery_id = ? ORDER BY s.reference, f.sha256",
        (gallery_id,),
    ).fetchall()
    return digest_of(rows)


def digest_of(rows) -> str:
    h = hashlib.sha256(b"fieldface-gallery-state/1\n")
    for ref, sha in sorted((str(r), str(s)) for r, s in rows):  # code-point order: the same on every database
        h.update(f"{ref}\t{sha}\n".encode())
    return h.hexdigest()


def _apply_bundle(gallery, parsed: fmt.Parsed, trusted: list[str], actor: str, what: str, progress) -> Outcome:
    m, store = parsed.manifest, gallery.store
    with store.connection() as conn:
        held, owner = _held(conn, str(m.get("gallery")))
    if owner is not None and owner != m["agency"]:
        raise fmt.BundleError(f"gallery {m['gallery']!r} here is filled by another agency key; nothing was changed")
    if _orders_only(store, m, held):
        return _reapply_orders(gallery, parsed, trusted, actor, what)
    _check_bundle(gallery, m, held)
    key = fmt.unwrap_key(m, gallery.audit.device_id, bundle_private_key(store))
    plain = fmt.open_payload(parsed, key)
    prepared = _prepare(gallery, plain, str(m.get("model_id", "")), int(m.get("subjects", 0)), progress)
    progress("checking", len(prepared), len(prepared))
    out = Outcome("bundle", m["gallery"], int(m["version"]))
    _apply_carried_orders(gallery, m, trusted, actor, what, out)
    touched = _write(gallery, m, parsed.hash, prepared, actor, out, progress)
    _drop_indexes(gallery, touched)
    with store.connection() as conn:
        gallery.index(conn, conn.execute("SELECT id FROM galleries WHERE name = ?", (m["gallery"],)).fetchone()[0])
    return out


def _apply_carried_orders(gallery, m: dict, trusted: list[str], actor: str, what: str, out: Outcome) -> None:
    # Orders jump the queue: a bundle carries every order issued for its gallery so far.
    for env in m.get("orders", []):
        order = fmt.Parsed(env["manifest"], env["sig"], [], fmt.manifest_hash(env["manifest"]))
        fmt.verify(order, trusted, f"order in {what}")
        out.orders.append(apply_order(gallery, order.manifest, order.hash, actor))


def _orders_only(store, m: dict, held: int | None) -> bool:
    """A restored unit (device/gallery/restore_gate.py) given the very version it holds: that bundle
    still carries every order issued so far, so its orders are applied (its content is not)."""
    try:
        same = held is not None and int(m["version"]) == held
    except (KeyError, ValueError, TypeError):
        return False  # _check_bundle refuses it with the reason
    if not same:
        return False
    with store.connection() as conn:
        state = restore_gate.pending(conn)
    return state is not None and m["gallery"] in state["pending"]


def _reapply_orders(gallery, parsed: fmt.Parsed, trusted: list[str], actor: str, what: str) -> Outcome:
    m, store = parsed.manifest, gallery.store
    fmt.unwrap_key(m, gallery.audit.device_id, bundle_private_key(store))  # addressed to this unit, or refused
    out = Outcome("bundle", m["gallery"], int(m["version"]), orders_only=True)
    _apply_carried_orders(gallery, m, trusted, actor, what, out)
    with store.connection() as conn, store.transaction(conn):
        gid = conn.execute("SELECT id FROM galleries WHERE name = ?", (m["gallery"],)).fetchone()[0]
        out.digest = state_digest(conn, gid)  # what it holds now, acknowledged like an applied bundle
        out.ack_seq = restore_gate.bundle_applied(conn, gallery.audit, m["gallery"], out.version, actor)
    return out


def _write(gallery, m: dict, bundle_hash: str, prepared, actor: str, out: Outcome, progress) -> set[int]:
    name, version, now = m["gallery"], int(m["version"]), gallery.now()
    tag = {"gallery": name, "bundle_version": version, "bundle_hash": bundle_hash}
    touched: set[int] = set()
    with gallery.store.connection() as conn:
        with gallery.store.transaction(conn):
            conn.execute("INSERT OR IGNORE INTO galleries(name, created_at, agency) VALUES (?, ?, ?)",
                         (name, now, m["agency"]))  # fmt: skip
            gid = conn.execute("SELECT id FROM galleries WHERE name = ?", (name,)).fetchone()[0]
            existing = dict(conn.execute("SELECT reference, id FROM subjects WHERE gallery_id = ?", (gid,)))
            listed = set()
            for done, (doc, images) in enumerate(prepared):
                progress("writing", done, len(prepared))
                ref = doc["reference"]
                listed.add(ref)
                old = existing.get(ref)
                if old is not None:
                    subject = get_subject(conn, old)
                    change = "removed" if doc["op"] == "remove" else "changed"
                    _erase_rows(conn, gallery.audit, subject, actor, "system", f"gallery.central_{change}", tag)
                    touched.add(gid)
                if doc["op"] == "put":
                    change = "changed" if old is not None else "added"
                    _insert(gallery, conn, gid, doc, images, actor, now, tag, change)
                if doc["op"] == "put" or old is not None:
                    setattr(out, change, getattr(out, change) + 1)
            if int(m["base"]) == 0:  # a full bundle: what it does not list is no longer on the watchlist
                for ref, number in existing.items():
                    if ref not in listed:
                        _erase_rows(conn, gallery.audit, get_subject(conn, number), actor, "system",
                                    "gallery.central_removed", tag)  # fmt: skip
                        touched.add(gid)
                        out.removed += 1
            progress("writing", len(prepared), len(prepared))
            bump_version(conn, gid)
            out.digest = state_digest(conn, gid)
            (ack,) = gallery.audit.append_in(conn, [Draft(
                "gallery.bundle_applied", actor, "system", f"gallery:{name}",
                details={**tag, "base": int(m["base"]), "digest": out.digest, "added": out.added,
                         "changed": out.changed, "removed": out.removed, "agency": m["agency"]})])  # fmt: skip
            out.ack_seq = ack.seq
            restore_gate.bundle_applied(conn, gallery.audit, name, version, actor)
            conn.execute(
                "INSERT INTO central_bundles(gallery, version, base, bundle_hash, digest, applied_at, audit_seq)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (name, version, int(m["base"]), bundle_hash, out.digest, now, ack.seq),
            )
        if touched:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return touched


def _insert(gallery, conn, gid: int, doc: dict, images: list[dict], actor: str, now: str, tag: dict, change: str):
    retain = parse_date(doc.get("retain_until"), f"subject {doc['reference']}: retain_until")
    legal = str(doc.get("legal_basis") or "").strip()
    name = str(doc.get("display_name") or "").strip()
    if not legal or not name:
        raise fmt.BundleError(f"subject {doc['reference']}: a display name and a legal basis are required")
    sid = conn.execute(
        "INSERT INTO subjects(gallery_id, display_name, reference, category, legal_basis, source, enrolled_by,"
        " enrolled_at, retain_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (gid, name[:200], doc["reference"], str(doc.get("category", ""))[:200], legal[:2000],
         str(doc.get("source", ""))[:200], actor, now, retain),
    ).lastrowid  # fmt: skip
    # audit_seq stays NULL: `audit verify` vouches for images by their gallery.enroll entry; these are
    # vouched for by the subject's entry below, which names the bundle.
    gallery.audit.append_in(conn, [Draft(
        f"gallery.central_{change}", actor, "system", f"subject:{sid}",
        details={**tag, "reference": doc["reference"], "legal_basis": legal[:200],
                 "images": len(images)})])  # fmt: skip
    for img in images:
        iid = conn.execute(
            "INSERT INTO face_images(subject_id, gallery_id, sha256, format, width, height, face_index, quality,"
            " forced, image, added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?)",
            (sid, gid, img["sha256"], str(img.get("format", "")), int(img.get("width", 0)), int(img.get("height", 0)),
             int(img.get("face_index", 0)), to_json(img.get("quality", {})), img["data"], actor, now),
        ).lastrowid  # fmt: skip
        conn.execute("INSERT INTO embeddings(image_id, gallery_id, model_id, vector) VALUES (?, ?, ?, ?)",
                     (iid, gid, gallery.model_id, vector_to_blob(img["vector"])))  # fmt: skip
