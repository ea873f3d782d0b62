"""One verifier for every transport: MQTT batches (device/central/mqtt.py) and audit exports
carried on removable media (device/central/media.py) go through the same checks, in this order:

1. the unit is registered (its card's key, from the store);
2. every entry names the unit, matches its hash and links to the one before;
3. the signed head covers the last entry (one signature vouches for the run through the chain);
4. continuity with what central holds: entries already held must be identical (else a *fork*),
   a run that starts after the head is a *gap* (normal: the unit resends), and an ``audit.epoch``
   entry that re-uses held seqs but links to the held chain opens a new epoch: the entries central
   held from that seq on stay under the old epoch and are reported as lost (an alert), and the
   restored unit is sent them back (``recovery``) so it can re-apply the erasures among them.

Nothing here knows MQTT or files: ``accept(unit, entries, signatures, via)`` returns an
``Outcome``; the transports turn it into an ack or a message.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from device.audit.entry import GENESIS, Entry
from device.audit.epoch import EPOCH_ACTION, last_head_matches
from device.audit.signing import head_signature_valid, parse_public_key
from device.central.store import CentralStore, Epoch, now
from device.errors import UsageError
from device.sync.protocol import ACK_GAP, ACK_OK, ACK_REJECTED, RECOVERY_FORMAT, Ack

log = logging.getLogger(__name__)


class Refusal(Exception):
    def __init__(self, kind: str, seq: int, detail: str):
        super().__init__(detail)
        self.kind, self.seq, self.detail = kind, seq, detail


@dataclass
class Outcome:
    status: str
    head_seq: int
    head_hash: str
    epoch: int = 0
    epoch_seq: int = 0
    epoch_hash: str = GENESIS
    reason: str = ""
    lost: int = 0
    stored: int = 0
    new_epoch: Epoch | None = None  # opened by this delivery

    def ack(self, unit: str) -> Ack:
        return Ack(
            unit,
            self.head_seq,
            self.head_hash,
            self.status,
            self.reason,
            self.epoch,
            self.epoch_seq,
            self.epoch_hash,
            self.lost,
        )


class Verifier:
    def __init__(self, store: CentralStore):
        self.store = store
        self._keys: dict[str, Ed25519PublicKey] = {}

    def key(self, unit: str) -> Ed25519PublicKey | None:
        if unit not in self._keys:  # a unit registered while we run is found without a restart
            self._keys = {u: parse_public_key(k) for u, k in self.store.unit_keys().items()}
        return self._keys.get(unit)

    def accept(self, unit: str, entries: list[Entry], signatures: dict[int, str], via: str) -> Outcome:
        """Verify and store ``entries`` (consecutive); ``signatures`` are the unit's signed heads by
        seq, and must cover the last entry of the run and the last entry before each epoch entry."""
        try:
            key = self.key(unit)
            if key is None:
                raise Refusal("unknown-device", 0, f"unit {unit!r} is not registered (fieldface central unit add)")
            canonical = self._check_chain(unit, key, entries, signatures)
            return self._store(unit, entries, signatures, via, canonical)
        except Refusal as refusal:
            self.store.reject(unit, refusal.kind, refusal.seq, refusal.detail, via)
            return self._current(unit, ACK_REJECTED, f"{refusal.kind}: {refusal.detail}")

    def refuse(self, unit: str, refusal: Refusal, via: str) -> Outcome:
        self.store.reject(unit, refusal.kind, refusal.seq, refusal.detail, via)
        return self._current(unit, ACK_REJECTED, f"{refusal.kind}: {refusal.detail}")

    def _current(self, unit: str, status: str, reason: str = "") -> Outcome:
        epochs = self.store.epochs(unit)
        seq, hash_hex = self.store.head(unit)
        if not epochs:
            return Outcome(status, seq, hash_hex, reason=reason)
        top = epochs[-1]
        start = (top.start_seq, top.start_hash) if top.epoch else (0, GENESIS)
        return Outcome(status, seq, hash_hex, top.epoch, *start, reason=reason, lost=top.lost_to or 0)

    @staticmethod
    def _check_chain(unit: str, key, entries: list[Entry], signatures: dict[int, str]) -> dict[int, bytes]:
        """Refusal unless the run is sound; else each entry's canonical body by seq (hashed here,
        stored as is: serialising 100,000s of bodies twice was a tenth of a receiver's time)."""
        if not entries:
            raise Refusal("malformed", 0, "no entries")
        previous, canonical = None, {}
        for entry in entries:
            if entry.device != unit:
                raise Refusal("forged", entry.seq, f"entry names unit {entry.device!r}")
            raw = canonical[entry.seq] = entry.canonical()
            if hashlib.sha256(raw).hexdigest() != entry.hash:
                raise Refusal("forged", entry.seq, "entry content does not match its hash")
            if previous is not None and (entry.seq != previous.seq + 1 or entry.prev != previous.hash):
                raise Refusal("broken-chain", entry.seq, f"entry {entry.seq} does not follow entry {previous.seq}")
            if entry.action == EPOCH_ACTION and not last_head_matches(entry):
                raise Refusal("forged", entry.seq, "the epoch entry's stated last head is not the entry it links to")
            previous = entry
        by_seq = {e.seq: e for e in entries}
        for seq, sig in signatures.items():
            if seq in by_seq and not head_signature_valid(key, unit, seq, by_seq[seq].hash, sig):
                raise Refusal("bad-signature", seq, f"the signed head at seq {seq} does not verify")
        if entries[-1].seq not in signatures:
            raise Refusal("bad-signature", entries[-1].seq, "no signed head covers the last entry")
        return canonical

    def _store(self, unit: str, entries: list[Entry], signatures: dict[int, str], via: str,
               canonical: dict[int, bytes]) -> Outcome:  # fmt: skip
        stored, opened = 0, None
        with self.store.unit_transaction(unit) as tx:
            tx.touch()
            cur = tx.current()
            pos, n = 0, len(entries)
            while pos < n:
                head_seq, head_hash = tx.head(cur.epoch) if cur else (0, GENESIS)
                if entries[pos].seq > head_seq + 1:
                    gap = (head_seq, head_hash, entries[pos].seq)
                    break
                gap, lost = None, None
                if entries[pos].seq <= head_seq:
                    held = tx.lineage_hashes(entries[pos].seq, min(head_seq, entries[-1].seq))
                    while pos < n and entries[pos].seq <= head_seq and held.get(entries[pos].seq) == entries[pos].hash:
                        pos += 1
                    if pos == n or entries[pos].seq > head_seq:
                        continue
                    e = entries[pos]
                    if e.action != EPOCH_ACTION:
                        raise Refusal("fork", e.seq, f"entry {e.seq} differs from the one stored earlier")
                    linked = GENESIS if e.seq == 1 else tx.lineage_hashes(e.seq - 1, e.seq - 1).get(e.seq - 1)
                    if e.prev != linked:
                        raise Refusal(
                            "fork", e.seq, f"epoch entry {e.seq} does not link to the stored entry {e.seq - 1}"
                        )
                    lost = (e.seq, head_seq)
                else:
                    e = entries[pos]
                    if e.prev != head_hash:
                        raise Refusal("fork", e.seq, f"entry {e.seq} does not link to the stored entry {head_seq}")
                new_epoch = cur is None or e.action == EPOCH_ACTION
                if new_epoch:
                    cur = opened = tx.start_epoch(e, cur, lost, now())
                    if cur.epoch:
                        tx.alert("epoch", _epoch_alert(cur))
                end = next((i for i in range(pos + 1, n) if entries[i].action == EPOCH_ACTION), n)
                run = entries[pos:end]
                sig = signatures.get(run[-1].seq)
                if sig is None:
                    raise Refusal("bad-signature", run[-1].seq, "no signed head covers the entry before an epoch")
                tx.append(cur.epoch, run, sig, via, canonical)
                stored += len(run)
                pos = end
            else:
                gap = None
        if gap is not None:
            self.store.gap(unit, gap[0] + 1, gap[2])
            out = self._current(unit, ACK_GAP, f"expected seq {gap[0] + 1}")
        else:
            out = self._current(unit, ACK_OK)
        out.stored, out.new_epoch = stored, opened if opened and opened.epoch else None
        return out

    # ---- what a restored unit is sent back ------------------------------------------------------

    def recovery(self, unit: str, epoch: int) -> dict | None:
        """The entries central held that epoch ``epoch`` of ``unit`` lost, with the signed head
        that vouches for them: the unit checks them with its own key and re-applies the erasures
        among them (device/audit/recovery.py). None when nothing was lost."""
        epochs = {e.epoch: e for e in self.store.epochs(unit)}
        target = epochs.get(epoch)
        if target is None or target.lost_from is None:
            return None
        rows, head = _lineage_rows(self.store, unit, epochs, target.parent, target.lost_from, target.lost_to)
        return {
            "format": RECOVERY_FORMAT,
            "device": unit,
            "epoch": epoch,
            "epoch_seq": target.start_seq,
            "epoch_hash": target.start_hash,
            "lost": {"from": target.lost_from, "to": target.lost_to},
            "entries": [{**json.loads(body), "hash": h} for _s, h, body in rows],
            "head": head,
        }

    def recovery_size(self, unit: str, epoch: int) -> int:
        target = {e.epoch: e for e in self.store.epochs(unit)}.get(epoch)
        return 0 if target is None or target.lost_from is None else target.lost_to - target.lost_from + 1


def _epoch_alert(epoch: Epoch) -> str:
    backup = epoch.backup
    what = f"restored from backup {backup.get('name', '?')!r} (taken {backup.get('created_at', '?')})"
    if epoch.lost_from is None:
        return f"epoch {epoch.epoch} opened at seq {epoch.start_seq}: {what}; central had nothing beyond it"
    return (
        f"epoch {epoch.epoch} opened at seq {epoch.start_seq}: {what}; entries {epoch.lost_from}.."
        f"{epoch.lost_to} of epoch {epoch.parent} were lost on the unit and are kept centrally"
    )


def _lineage_rows(store, unit, epochs: dict[int, Epoch], top: int, first: int, last: int):
    """Rows first..last of the lineage ending in epoch ``top``, and the signed head at ``last``."""
    rows, upper, number = [], last, top
    heads = store.heads(unit)
    seq, hash_hex, sig = heads[top]
    if seq != last:
        raise UsageError(f"unit {unit}: epoch {top}'s head {seq} is not the lost range's end {last}")
    while number is not None and upper >= first:
        e = epochs[number]
        low = max(first, e.start_seq)
        rows += store.query(
            "SELECT seq, hash, body FROM audit_entries WHERE unit = ? AND epoch = ? AND seq BETWEEN ? AND ?",
            (unit, number, low, upper),
        )
        upper, number = min(upper, e.start_seq - 1), e.parent
    return sorted(rows), {"seq": seq, "hash": hash_hex, "sig": sig}
