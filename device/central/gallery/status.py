"""What the units did with what the agency sent, read from their verified audit entries.

A unit acknowledges a bundle with a ``gallery.bundle_applied`` entry (version, bundle hash, digest
of its resulting gallery) and proves an erasure with a ``gallery.erasure_applied`` entry (order
number and hash); both reach central by the audit sync (MQTT or ``central receive-file``) and are
verified there like every other entry, so the proof is the unit's signed chain, not a message.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from device.central.gallery import authority
from device.gallery.central import digest_of


def _entries(store, action: str) -> list[tuple[str, int, str, dict, str, int]]:
    """``(unit, seq, hash, body, received_at, epoch)`` of every stored entry with this action, through
    the ``action`` column's index (migration 0004)."""
    rows = store.query(
        "SELECT unit, seq, hash, body, received_at, epoch FROM audit_entries WHERE action = ?"
        " ORDER BY unit, epoch, seq",
        (action,),
    )
    out = []
    for unit, seq, hash_hex, body, at, epoch in rows:
        doc = json.loads(body)
        out.append((unit, int(seq), hash_hex, doc, at, int(epoch)))
    return out


def _undoing(store):
    """``undone(unit, epoch, seq)``: the first later epoch of the unit that starts at or before
    ``seq`` (the unit went back to a backup made before it wrote that entry: what the entry says
    it did is undone on the unit, though the entry stays centrally), else None."""
    starts: dict[str, list[tuple[int, int]]] = {}
    for unit, epoch, start_seq in store.query("SELECT unit, epoch, start_seq FROM audit_epochs"):
        starts.setdefault(unit, []).append((int(epoch), int(start_seq)))

    def undone(unit: str, epoch: int, seq: int) -> int | None:
        return min((e for e, start in starts.get(unit, []) if e > epoch and start <= seq), default=None)

    return undone


def acked_versions(store, gallery: str) -> dict[str, int]:
    out: dict[str, int] = {}
    undone = _undoing(store)
    for unit, seq, _h, doc, _at, epoch in _entries(store, "gallery.bundle_applied"):
        d = doc.get("details", {})
        if d.get("gallery") == gallery and undone(unit, epoch, seq) is None:
            out[unit] = max(out.get(unit, 0), int(d.get("bundle_version", 0)))
    return out


def _since(stamp: str, now: datetime) -> float:
    return round((now - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds(), 1)


def orders(store, now: datetime, units: list[tuple[str, str, str]] | None = None) -> list[dict]:
    """Every erasure order with, per registered unit, its proof (the unit's verified
    ``gallery.erasure_applied`` entry: epoch, seq, hash) or since when it is outstanding."""
    issued = store.query(
        "SELECT order_no, gallery, reference, reason, order_hash, issued_at, issued_by FROM central_orders"
        " ORDER BY order_no"
    )
    if not issued:
        return []  # no order: the audit trail is not read at all (the fleet page asks on every view)
    registered = {u: added for u, _n, added in (units if units is not None else store.units())}
    undone_by = _undoing(store)
    proofs: dict[tuple[str, str], dict] = {}
    undone: dict[tuple[str, str], dict] = {}
    for unit, seq, hash_hex, doc, at, epoch in _entries(store, "gallery.erasure_applied"):
        d = doc.get("details", {})
        proof = {"epoch": epoch, "seq": seq, "hash": hash_hex, "applied_at": doc.get("at"), "received_at": at,
                 "subjects": d.get("subjects")}  # fmt: skip
        # Restored from a backup made before it applied the order: the unit holds the erased face
        # again until it re-applies the order (its restore gate makes it, before any search).
        later = undone_by(unit, epoch, seq)
        if later is not None:
            undone.setdefault((d.get("order_hash"), unit), {**proof, "by_epoch": later})
        else:
            proofs.setdefault((d.get("order_hash"), unit), proof)
    out = []
    for number, gallery, reference, reason, order_hash, issued_at, issued_by in issued:
        applied = {u: proofs[(order_hash, u)] for u in registered if (order_hash, u) in proofs}
        outstanding = {}
        for u, added in registered.items():
            if u not in applied:
                since = max(issued_at, added)  # a unit registered after the order owes it from then
                outstanding[u] = {"since": since, "for_s": _since(since, now), "undone": undone.get((order_hash, u))}
        out.append({"order": int(number), "gallery": gallery, "reference": reference, "reason": reason,
                    "hash": order_hash, "issued_at": issued_at, "issued_by": issued_by, "applied": applied,
                    "outstanding": outstanding})  # fmt: skip
    return out


def status(store, now: datetime | None = None) -> dict:
    now = now or datetime.now(UTC)
    registered = store.units()
    galleries = authority.galleries(store)
    held: dict[str, dict] = {u: {} for u, _n, _a in registered}
    undone = _undoing(store)
    for unit, seq, _h, doc, _at, epoch in _entries(store, "gallery.bundle_applied"):
        d = doc.get("details", {})
        if unit not in held or undone(unit, epoch, seq) is not None:
            continue  # not registered (any more), or an acknowledgement the unit's restore undid
        if int(d.get("bundle_version", 0)) >= held[unit].get(d.get("gallery"), {}).get("version", 0):
            held[unit][d.get("gallery")] = {"version": int(d["bundle_version"]), "digest": d.get("digest"),
                                            "epoch": epoch, "seq": seq, "at": doc.get("at")}  # fmt: skip
    current = {g: digest_of(authority.state_rows(store, g)) for g in galleries}
    for unit_galleries in held.values():
        for g, h in unit_galleries.items():
            h["current"] = h["version"] == galleries.get(g)
            h["behind"] = max(0, galleries.get(g, 0) - h["version"])
            # Only comparable at the current version: the digest of an older state is not kept.
            h["digest_ok"] = (h["digest"] == current.get(g)) if h["current"] else None
    return {"galleries": galleries, "units": held, "orders": orders(store, now, registered)}


def lines(doc: dict) -> list[str]:
    out = ["galleries: " + (", ".join(f"{g} v{v}" for g, v in doc["galleries"].items()) or "none")]
    for unit, galleries in sorted(doc["units"].items()):
        held = ", ".join(
            f"{g} v{h['version']}" + ("" if h["digest_ok"] is not False else " (DIGEST MISMATCH)")
            + ("" if h["current"] else f" (behind by {h['behind']})")
            for g, h in sorted(galleries.items())
        )  # fmt: skip
        out.append(f"unit {unit}: {held or 'no bundle applied yet'}")
    for o in doc["orders"]:
        out.append(f"order {o['order']} ({o['reference']}, issued {o['issued_at']}): "
                   f"{len(o['applied'])} applied, {len(o['outstanding'])} outstanding")  # fmt: skip
        for u, p in sorted(o["applied"].items()):
            out.append(f"  {u}: applied, proof seq {p['seq']} hash {p['hash'][:16]}... ({p['subjects']} subject(s))")
        for u, w in sorted(o["outstanding"].items()):
            was = w["undone"]
            undone = f"; applied at seq {was['seq']}, undone by the restore of epoch {was['by_epoch']}" if was else ""
            out.append(f"  {u}: OUTSTANDING since {w['since']} ({w['for_s']:.0f} s{undone})")
    return out
