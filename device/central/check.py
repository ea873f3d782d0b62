"""``fieldface central verify``: re-check every unit's chain in the central store from scratch.

Per unit and epoch: every stored body against its hash, every link, the epoch's first entry
against the entry its parent lineage holds before it, the stored head against the unit's
signature (registered key), and the lost range against the parent's head; then the unit's day
tallies (device/central/days.py) against a recount of its entries. The same
ChainChecker as ``fieldface audit verify`` names each problem (edited, deleted, inserted, ...).
Needs only read access (the auditor role).
"""

from __future__ import annotations

import json

from device.audit.entry import GENESIS, Entry
from device.audit.epoch import EPOCH_ACTION
from device.audit.signing import parse_public_key
from device.audit.verify import ChainChecker
from device.central import days as D
from device.central.store import CentralStore
from device.reports.tally import Counting


def verify_central(store: CentralStore, only: str | None = None) -> dict[str, dict]:
    """``{unit: {"entries", "epochs", "head", "problems": [str]}}`` for every registered unit
    (or the one named by ``only``: the console's "verify this unit's chain now")."""
    keys = store.unit_keys()
    out = {}
    for unit in sorted(keys):
        if only is not None and unit != only:
            continue
        key = parse_public_key(keys[unit])
        epochs = {e.epoch: e for e in store.epochs(unit)}
        heads = store.heads(unit)
        problems, count, counted = [], 0, {}
        for number, ep in sorted(epochs.items()):
            where = f"epoch {number}"
            start_seq, start_hash = (0, GENESIS) if ep.parent is None else (ep.start_seq - 1, None)
            if ep.parent is not None:
                linked = _lineage_hash(store, unit, epochs, ep.parent, ep.start_seq - 1)
                if linked != ep.start_prev:
                    problems.append(
                        f"{where}: its first entry {ep.start_seq} does not link to entry "
                        f"{ep.start_seq - 1} of epoch {ep.parent}"
                    )
                start_hash = ep.start_prev
                parent_head = heads.get(ep.parent, (0, "", ""))[0]
                if ep.lost_from is not None and (ep.lost_from, ep.lost_to) != (ep.start_seq, parent_head):
                    problems.append(
                        f"{where}: the recorded lost range {ep.lost_from}..{ep.lost_to} is not "
                        f"{ep.start_seq}..{parent_head}"
                    )
            checker = ChainChecker(unit, key, start_seq, start_hash)
            first = True
            for seq, hash_hex, body in store.iter_rows(unit, number):
                count += 1
                try:
                    entry = Entry.from_body(json.loads(body), hash_hex)
                except (ValueError, TypeError) as exc:
                    checker.unreadable(seq, str(exc))
                    continue
                if first and (seq != ep.start_seq or hash_hex != ep.start_hash):
                    checker.problem("edited", seq, f"the epoch's first entry is not the one recorded ({ep.start_seq})")
                if first and number and entry.action != EPOCH_ACTION:
                    checker.problem("inserted", seq, "an epoch that does not start with an audit.epoch entry")
                first = False
                checker.feed(entry, seq)
                counted.setdefault(entry.at[:10], Counting(legacy=False)).add(entry)
            head = heads.get(number)
            if head is None:
                checker.problem("truncated", ep.start_seq, "no signed head is stored for this epoch")
            else:
                checker.signed_head(head[0], head[1], head[2], "stored head")
            report = checker.finish()
            problems += [f"{where}: {p}" for p in report.problems]
        problems += D.differences(store, unit, {day: c.result() for day, c in counted.items()})
        out[unit] = {"entries": count, "epochs": len(epochs), "head": store.head(unit)[0], "problems": problems}
    return out


def _lineage_hash(store, unit, epochs, top: int, seq: int) -> str | None:
    if seq == 0:
        return GENESIS
    number = top
    while number is not None:
        ep = epochs[number]
        if seq >= ep.start_seq:
            rows = store.query(
                "SELECT hash FROM audit_entries WHERE unit = ? AND epoch = ? AND seq = ?", (unit, number, seq)
            )
            return rows[0][0] if rows else None
        number = ep.parent
    return None
