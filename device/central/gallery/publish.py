"""Building a published version: a full bundle, or a delta from the version the units hold.

The base is what every addressed unit acknowledged (its ``gallery.bundle_applied`` entries, which
reach central by the audit sync): a delta from the oldest of those, or a full bundle when a unit
never acknowledged one. ``base`` may be given by hand (``--base``) for media sent ahead of acks.
Every bundle carries every erasure order issued so far for its gallery: a unit that missed one
(or was restored from a backup) applies them first.
"""

from __future__ import annotations

import hashlib
import json
import secrets

from device.audit.card import read_card
from device.central.gallery import authority
from device.central.gallery.status import acked_versions
from device.central.store import now
from device.errors import UsageError
from device.gallery import bundle as fmt
from device.gallery.central import digest_of


def unit_keys(store, only: str | None = None) -> dict[str, str]:
    """``{unit: "x25519:..."}`` from the registered cards."""
    rows = store.query("SELECT unit, card FROM units ORDER BY unit")
    if only is not None and only not in {u for u, _ in rows}:
        raise UsageError(f"unit {only!r} is not registered: 'fieldface central unit add CARD' first")
    out = {}
    for unit, card in rows:
        if only is not None and unit != only:
            continue
        try:
            key = read_card(card).get("bundle_key")
        except UsageError:
            key = None
        if key:
            out[unit] = key
        elif only is not None:
            raise UsageError(f"unit {unit}'s card has no bundle key: register a card made by this version")
    if not out:
        raise UsageError("no registered unit has a bundle key: register the units' cards first")
    return out


def build(store, agency, gallery: str, *, unit: str | None = None, base: int | None = None,
          models: list[str] | None = None) -> tuple[bytes, dict]:  # fmt: skip
    """The bundle's bytes and its manifest."""
    versions = authority.galleries(store)
    if gallery not in versions:
        raise UsageError(f"no central gallery {gallery!r} (galleries: {', '.join(versions) or 'none yet'})")
    version, keys = versions[gallery], unit_keys(store, unit)
    if base is None:
        acked = acked_versions(store, gallery)
        held = [acked.get(u) for u in keys]
        base = 0 if any(h is None for h in held) else min(held)
    if not 0 <= base < version:
        raise UsageError(f"--base {base}: must be from 0 (full) to {version - 1} (gallery {gallery} is at {version})")
    subjects = store.query(
        "SELECT reference, display_name, category, legal_basis, source, retain_until, removed_version"
        " FROM central_subjects WHERE gallery = ? AND changed_version > ? ORDER BY reference",
        (gallery, base),
    )
    plain, model_ids = bytearray(), set()
    for ref, name, category, legal, source, retain, removed in subjects:
        if removed is not None:
            if base:  # a full bundle simply does not list it
                plain += fmt.record({"op": "remove", "reference": ref})
            continue
        # Sorted here, not by ORDER BY: SQLite would walk the (gallery, sha256) key of the whole
        # gallery to give that order, per subject (measured: quadratic at 10,000 subjects).
        images = sorted(store.query(
            "SELECT sha256, meta, model_id, image, embedding FROM central_images WHERE gallery = ? AND reference = ?",
            (gallery, ref),
        ))  # fmt: skip
        metas, blobs = [], []
        for sha, meta, model_id, sealed, sealed_emb in images:
            where = f"{gallery}/{sha}"
            data = agency.unseal(sealed, where)
            model_ids.add(model_id)
            emb = fmt.b64(agency.unseal(sealed_emb, where + "/embedding"))
            metas.append({**json.loads(meta), "sha256": sha, "size": len(data), "embedding": emb})
            blobs.append(data)
        doc = {"op": "put", "reference": ref, "display_name": name, "category": category, "legal_basis": legal,
               "source": source, "retain_until": retain, "images": metas}  # fmt: skip
        plain += fmt.record(doc, blobs)
    model_id = sorted(model_ids)[0] if len(model_ids) == 1 else ""
    # The models whose scores the agency accepts: given, else those its gallery was enrolled with.
    # Empty only when the gallery holds no image at all (nothing to score).
    held_models = [
        m for (m,) in store.query("SELECT DISTINCT model_id FROM central_images WHERE gallery = ?", (gallery,))
    ]
    orders = [json.loads(e) for (e,) in store.query(
        "SELECT envelope FROM central_orders WHERE gallery IN (?, '*') ORDER BY order_no", (gallery,))]  # fmt: skip
    manifest = {"format": fmt.FORMAT, "kind": "bundle", "agency": agency.public, "gallery": gallery,
                "version": version, "base": base, "nonce": secrets.token_hex(8), "created_at": now(),
                "model_id": model_id, "models": models or sorted(held_models),
                "subjects": len(subjects), "orders": orders,
                "digest": digest_of(authority.state_rows(store, gallery))}  # fmt: skip
    content_key = secrets.token_bytes(32)
    chunks = fmt.seal_payload(bytes(plain), content_key, fmt.chunk_id(manifest))
    manifest["chunks"] = [{"size": len(c), "sha256": hashlib.sha256(c).hexdigest()} for c in chunks]
    manifest["keys"] = fmt.wrap_key(content_key, keys)
    return fmt.pack(fmt.sign(manifest, agency.private), chunks), manifest


def record_publication(store, manifest: dict, size: int, via: str, actor: str) -> None:
    with authority.transaction(store) as cur:
        units = sorted(manifest["keys"]["units"])
        authority.q(store, cur,
                    "INSERT INTO central_publications(gallery, version, base, bundle_hash, units, bytes, digest, via,"
                    " published_at, published_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (manifest["gallery"], manifest["version"], manifest["base"], fmt.manifest_hash(manifest),
                     json.dumps(units), size, manifest["digest"], via, now(), actor))  # fmt: skip
        authority.log_change(store, cur, actor, "gallery.publish", f"{manifest['gallery']}@{manifest['version']}",
                             {"base": manifest["base"], "units": units, "bytes": size, "via": via,
                              "bundle_hash": fmt.manifest_hash(manifest)})  # fmt: skip
