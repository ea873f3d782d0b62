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


def _entries(store, action: str) -> list[tuple[str, int, str, dict, str]]:
    """``(unit, seq, hash, body, received_at)`` of every stored entry with this action."""
    rows = store.query(
        "SELECT unit, seq, hash, body, received_at FROM audit_entries WHERE body LIKE ? ORDER BY unit, epoch, seq",
        (f'%"action":"{action}"%',),
    )
    out = []
    for unit, seq, hash_hex, body, at in rows:
        doc = json.loads(body)
        if doc.get("action") == action:  # the LIKE only narrows; the parsed body decides
            out.append((unit, int(seq), hash_hex, doc, at))
    return out


def acked_versions(store, gallery: str) -> dict[str, int]:
    out: dict[str, int] = {}
    for unit, _seq, _h, doc, _at in _entries(store, "gallery.bundle_applied"):
        d = doc.get("details", {})
        if d.get("gallery") == gallery:
            out[unit] = max(out.get(unit, 0), int(d.get("bundle_version", 0)))
    return out


def _since(stamp: str, now: datetime) -> float:
    return round((now - datetime.fromisoformat(stamp.replace("Z", "+00:00"))).total_seconds(), 1)


def status(store, now: datetime | None = None) -> dict:
    now = now or datetime.now(UTC)
    units = [u for u, _n, _a in store.units()]
    galleries = authority.galleries(store)
    held: dict[str, dict] = {u: {} for u in units}
    for unit, seq, _h, doc, _at in _entries(store, "gallery.bundle_applied"):
        d = doc.get("details", {})
        if unit in held and int(d.get("bundle_version", 0)) >= held[unit].get(d.get("gallery"), {}).get("version", 0):
            held[unit][d.get("gallery")] = {"version": int(d["bundle_version"]), "digest": d.get("digest"),
                                            "seq": seq, "at": doc.get("at")}  # fmt: skip
    current = {g: digest_of(authority.state_rows(store, g)) for g in galleries}
    for unit_galleries in held.values():
        for g, h in unit_galleries.items():
            h["current"] = h["version"] == galleries.get(g)
            # Only comparable at the current version: the digest of an older state is not kept.
            h["digest_ok"] = (h["digest"] == current.get(g)) if h["current"] else None
    proofs: dict[tuple[str, int], dict] = {}
    for unit, seq, hash_hex, doc, at in _entries(store, "gallery.erasure_applied"):
        d = doc.get("details", {})
        proofs.setdefault((d.get("order_hash"), unit), {"seq": seq, "hash": hash_hex, "applied_at": doc.get("at"),
                                                        "received_at": at, "subjects": d.get("subjects")})  # fmt: skip
    registered = {u: a for u, _n, a in store.units()}
    orders = []
    for number, gallery, reference, reason, order_hash, issued_at in store.query(
        "SELECT order_no, gallery, reference, reason, order_hash, issued_at FROM central_orders ORDER BY order_no"
    ):
        applied = {u: proofs[(order_hash, u)] for u in units if (order_hash, u) in proofs}
        outstanding = {}
        for u in units:
            if u not in applied:
                since = max(issued_at, registered[u])
                outstanding[u] = {"since": since, "for_s": _since(since, now)}
        orders.append({"order": int(number), "gallery": gallery, "reference": reference, "reason": reason,
                       "hash": order_hash, "issued_at": issued_at, "applied": applied,
                       "outstanding": outstanding})  # fmt: skip
    return {"galleries": galleries, "units": held, "orders": orders}


def lines(doc: dict) -> list[str]:
    out = ["galleries: " + (", ".join(f"{g} v{v}" for g, v in doc["galleries"].items()) or "none")]
    for unit, galleries in sorted(doc["units"].items()):
        held = ", ".join(
            f"{g} v{h['version']}" + ("" if h["digest_ok"] is not False else " (DIGEST MISMATCH)")
            + ("" if h["current"] else " (behind)")
            for g, h in sorted(galleries.items())
        )  # fmt: skip
        out.append(f"unit {unit}: {held or 'no bundle applied yet'}")
    for o in doc["orders"]:
        out.append(f"order {o['order']} ({o['reference']}, issued {o['issued_at']}): "
                   f"{len(o['applied'])} applied, {len(o['outstanding'])} outstanding")  # fmt: skip
        for u, p in sorted(o["applied"].items()):
            out.append(f"  {u}: applied, proof seq {p['seq']} hash {p['hash'][:16]}... ({p['subjects']} subject(s))")
        for u, w in sorted(o["outstanding"].items()):
            out.append(f"  {u}: OUTSTANDING since {w['since']} ({w['for_s']:.0f} s)")
    return out
