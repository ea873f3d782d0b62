"""The central receiver's rules: verify a device's batch against its key and its stored chain,
store what is new exactly once, and refuse loudly what does not fit.

Nothing here knows MQTT: ``handle(device, payload)`` returns the ack to publish, so the rules are
tested directly and the MQTT runner (device.sync.service) stays thin. ``device`` comes from the
topic, which the broker's ACL ties to the client certificate.
"""

from __future__ import annotations

import logging

from device.audit.entry import GENESIS
from device.audit.signing import head_signature_valid
from device.sync.central_store import CentralStore
from device.sync.protocol import ACK_GAP, ACK_OK, ACK_REJECTED, Ack, Batch
from device.sync.registry import Registry

log = logging.getLogger(__name__)


class _Refusal(Exception):
    def __init__(self, kind: str, seq: int, detail: str):
        super().__init__(detail)
        self.kind, self.seq, self.detail = kind, seq, detail


class Receiver:
    def __init__(self, store: CentralStore, registry: Registry):
        self.store = store
        self.registry = registry

    def handle(self, device: str, payload: bytes) -> Ack:
        try:
            return self._handle(device, payload)
        except _Refusal as refusal:
            self.store.reject(device, refusal.kind, refusal.seq, refusal.detail)
            seq, hash_hex = self.store.head(device)
            return Ack(device, seq, hash_hex, ACK_REJECTED, f"{refusal.kind}: {refusal.detail}")

    def _handle(self, device: str, payload: bytes) -> Ack:
        key = self.registry.key(device)
        if key is None:
            raise _Refusal("unknown-device", 0, f"device {device!r} is not in the registry {self.registry.path}")
        try:
            batch = Batch.decode(payload)
        except ValueError as exc:
            raise _Refusal("malformed", 0, str(exc)) from None
        if batch.device != device:
            raise _Refusal("impersonation", 0, f"a batch for {batch.device!r} arrived on {device!r}'s topic")
        entries = batch.entries
        previous = None
        for entry in entries:
            if entry.device != device:
                raise _Refusal("forged", entry.seq, f"entry names device {entry.device!r}")
            if entry.computed_hash() != entry.hash:
                raise _Refusal("forged", entry.seq, "entry content does not match its hash")
            if previous is not None and (entry.seq != previous.seq + 1 or entry.prev != previous.hash):
                raise _Refusal("broken-chain", entry.seq, f"entry {entry.seq} does not follow entry {previous.seq}")
            previous = entry
        last = entries[-1]
        if (batch.head_seq, batch.head_hash) != (last.seq, last.hash) or not head_signature_valid(
            key, device, last.seq, last.hash, batch.head_sig
        ):
            raise _Refusal("bad-signature", last.seq, "the batch's head signature does not verify")
        with self.store.device_transaction(device) as tx:
            head_seq, head_hash = tx.head()
            first = entries[0]
            if first.seq > head_seq + 1:
                gap = (head_seq, head_hash, first.seq)
            else:
                gap = None
                held = [e for e in entries if e.seq <= head_seq]
                if held:
                    stored = tx.hashes(held[0].seq, held[-1].seq)
                    for e in held:
                        if stored.get(e.seq) != e.hash:
                            raise _Refusal("fork", e.seq, f"entry {e.seq} differs from the one stored earlier")
                new = [e for e in entries if e.seq > head_seq]
                if new:
                    if new[0].prev != (head_hash if head_seq else GENESIS):
                        raise _Refusal("fork", new[0].seq, f"entry {new[0].seq} does not link to stored {head_seq}")
                    tx.append(new, batch.head_sig)
                    head_seq, head_hash = last.seq, last.hash
        if gap is not None:
            # Normal after a lost message: the device resends from our head. Recorded all the same.
            self.store.reject(device, "gap", gap[0] + 1, f"batch starts at {gap[2]}, receiver holds up to {gap[0]}")
            return Ack(device, gap[0], gap[1], ACK_GAP, f"expected seq {gap[0] + 1}")
        return Ack(device, head_seq, head_hash, ACK_OK)
