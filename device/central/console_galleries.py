"""The console's view of the gallery authority (issue 16): each central gallery with its version,
subject counts and publications; per unit what it applied (device/central/gallery/status.py: the
units' verified ``gallery.bundle_applied`` entries); per erasure order who proved it and who still
owes it. References, versions, hashes and times only: no names, no images (an audit tool).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from device.central.gallery.status import status


def _publications(store) -> dict[str, list[dict]]:
    rows = store.query(
        "SELECT gallery, version, base, bundle_hash, units, bytes, via, published_at, published_by"
        " FROM central_publications ORDER BY gallery, published_at DESC, version DESC"
    )
    out: dict[str, list[dict]] = {}
    for gallery, version, base, bundle_hash, units, size, via, at, by in rows:
        out.setdefault(gallery, []).append({"version": int(version), "base": int(base), "bundle_hash": bundle_hash,
                                            "units": json.loads(units), "bytes": int(size), "via": via,
                                            "at": at, "by": by})  # fmt: skip
    return out


def _counts(store) -> dict[str, tuple[int, int]]:
    """``{gallery: (subjects held, subjects erased)}``."""
    rows = store.query(
        "SELECT gallery, count(*) - count(removed_version), count(removed_version) FROM central_subjects"
        " GROUP BY gallery"
    )
    return {g: (int(held), int(erased)) for g, held, erased in rows}


def _state(held: dict | None) -> tuple[str, str]:
    """``(state, words)`` of what one unit holds of one gallery."""
    if held is None:
        return "none", "nothing applied"
    if held["digest_ok"] is False:
        return "mismatch", "digest mismatch"
    if held["current"]:
        return "current", "current"
    n = held["behind"]
    return "behind", f"behind by {n} version{'s' if n != 1 else ''}"


def overview(store, now: datetime | None = None) -> dict:
    now = now or datetime.now(UTC)
    doc = status(store, now)
    counts, pubs = _counts(store), _publications(store)
    galleries = [{"name": g, "version": v, "subjects": counts.get(g, (0, 0))[0], "erased": counts.get(g, (0, 0))[1],
                  "published": max((p["version"] for p in pubs.get(g, [])), default=None),
                  "publications": pubs.get(g, [])} for g, v in doc["galleries"].items()]  # fmt: skip
    units = []
    for unit, name, _added in store.units():
        held = doc["units"].get(unit, {})
        rows = {}
        for g in doc["galleries"]:
            state, words = _state(held.get(g))
            rows[g] = {**(held.get(g) or {}), "state": state, "words": words}
        units.append({"unit": unit, "name": name, "galleries": rows})
    orders = []
    for o in doc["orders"]:
        applied = [{"unit": u, **p} for u, p in sorted(o["applied"].items())]
        outstanding = [{"unit": u, **w} for u, w in sorted(o["outstanding"].items())]
        orders.append({**o, "applied": applied, "outstanding": outstanding})
    return {"at": now.isoformat(timespec="seconds").replace("+00:00", "Z"), "galleries": galleries, "units": units,
            "orders": orders}  # fmt: skip
