"""An entry's chain proof, and a unit's epoch exported for ``fieldface audit verify --file``.

Proof: the entry's body against its hash, its link to the entry before it, the chain from it to
the epoch's stored head, and that head's signature with the key the registry holds for the unit
(never a key from the data). Central keeps one signed head per epoch (the latest), so the proof
walks from the entry to it: O(head - seq) hashes, what "this signature covers this entry" costs.

Export: the unit's own export format (device/audit/export.py) from a chosen seq to the epoch's
signed head. Central holds the unit's chain-head signature, not its export-domain key, so the
end line carries ``head_sig`` (and ``by: central``) instead of ``sig``: ``audit verify --file``
checks that signature with the unit's public key, and the chain ties every line to it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from device.audit.entry import Entry
from device.audit.export import EXPORT_FORMAT, _line
from device.audit.signing import head_signature_valid, parse_public_key
from device.central.store import now
from device.errors import UsageError


def proof(store, unit: str, epoch: int, seq: int) -> dict | None:
    rows = store.query(
        "SELECT seq, hash, body FROM audit_entries WHERE unit = ? AND epoch = ? AND seq BETWEEN ? AND ?"
        " ORDER BY seq", (unit, epoch, seq - 1, seq)
    )  # fmt: skip
    by_seq = {int(s): (h, b) for s, h, b in rows}
    if seq not in by_seq:
        return None
    entry = Entry.from_body(json.loads(by_seq[seq][1]), by_seq[seq][0])
    keys = store.unit_keys()
    head = store.heads(unit).get(epoch)
    out = {
        "unit": unit, "epoch": epoch, "seq": seq, "hash": entry.hash, "prev": entry.prev,
        "content_matches_hash": entry.computed_hash() == entry.hash,
        "previous_entry": None if seq - 1 not in by_seq else {"seq": seq - 1, "hash": by_seq[seq - 1][0],
                                                               "links": by_seq[seq - 1][0] == entry.prev},
        "head": None, "chain_to_head": False, "head_signature_valid": False, "entry": entry.body(),
    }  # fmt: skip
    if head is None or unit not in keys:
        return out
    head_seq, head_hash, sig = head
    out["head"] = {"seq": head_seq, "hash": head_hash, "sig": sig, "key": keys[unit]}
    out["head_signature_valid"] = head_signature_valid(parse_public_key(keys[unit]), unit, head_seq, head_hash, sig)
    prev, expected, ok = entry.hash, seq + 1, True
    for s, h, b in store.iter_rows(unit, epoch) if head_seq > seq else ():
        if s <= seq:
            continue
        e = Entry.from_body(json.loads(b), h)
        ok = ok and s == expected and e.prev == prev and e.computed_hash() == h
        prev, expected = h, s + 1
        if s >= head_seq:
            break
    out["chain_to_head"] = ok and prev == head_hash
    return out


def export_lines(store, unit: str, epoch: int, after: int = 0) -> Iterator[str]:
    """Entries ``after+1`` .. the epoch's signed head, in the unit's export format."""
    keys, heads = store.unit_keys(), store.heads(unit)
    if unit not in keys or epoch not in heads:
        raise UsageError(f"central holds no signed head of unit {unit!r} epoch {epoch}")
    head_seq, head_hash, sig = heads[epoch]
    start = next(e.start_seq for e in store.epochs(unit) if e.epoch == epoch)
    after = max(after, start - 1)  # a later epoch's entries start at its epoch entry
    yield _line({"type": "header", "format": EXPORT_FORMAT, "device": unit,
                 "public_key": keys[unit].removeprefix("ed25519:"), "after": after, "by": "central"})  # fmt: skip
    count = 0
    for s, h, b in store.iter_rows(unit, epoch):
        if s <= after:
            continue
        if s > head_seq:
            break
        count += 1
        yield _line({"type": "entry", **json.loads(b), "hash": h})
    yield _line({"type": "end", "after": after, "seq": head_seq, "hash": head_hash, "count": count,
                 "exported_at": now(), "by": "central", "head_sig": sig})  # fmt: skip


def first_seq_at(store, unit: str, epoch: int, start: str) -> int:
    """The last seq before ``start`` (an ISO time) in that epoch: an export of a period starts after it."""
    rows = store.query("SELECT min(seq) FROM audit_entries WHERE unit = ? AND epoch = ? AND at >= ?",
                       (unit, epoch, start))  # fmt: skip
    first = rows[0][0]
    return max(int(first) - 1, 0) if first is not None else 0
