"""What travels over MQTT: topics and payloads, version 1.

Topics, per device (the broker's ACL lets a device touch only its own):
    <prefix>/<device>/entries   device -> receiver, QoS 1: a batch of entries
    <prefix>/<device>/ack       receiver -> device, QoS 1, retained: the receiver's head
    <prefix>/<device>/status    device, retained: "online", or "offline" by last will

A batch is ``{"v": 1, "device", "entries": [wire entries], "head": {"seq", "hash", "sig"}}``,
where ``head`` is the device's signature over its last entry: with the chain it vouches for every
entry of the batch. An ack is ``{"v": 1, "device", "seq", "hash", "status", "reason"}``: ``seq``
and ``hash`` are what the receiver holds for the device after handling the batch. The ack is
retained so that a device that restarts learns the receiver's head as soon as it subscribes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from device.audit.entry import Entry

VERSION = 1
ACK_OK = "ok"  # stored (or already held): the receiver's head is seq
ACK_GAP = "gap"  # the batch starts after the receiver's head: resend from head + 1
ACK_REJECTED = "rejected"  # not stored (bad signature, fork, unknown device): reason says why


def entries_topic(prefix: str, device: str) -> str:
    return f"{prefix}/{device}/entries"


def ack_topic(prefix: str, device: str) -> str:
    return f"{prefix}/{device}/ack"


def status_topic(prefix: str, device: str) -> str:
    return f"{prefix}/{device}/status"


def device_of(topic: str, prefix: str) -> str | None:
    """The device id in ``<prefix>/<device>/<kind>``; None if the topic is not ours."""
    rest = topic.removeprefix(prefix + "/")
    parts = rest.split("/")
    return parts[0] if rest != topic and len(parts) == 2 and parts[0] else None


@dataclass(frozen=True)
class Batch:
    device: str
    entries: list[Entry]
    head_seq: int
    head_hash: str
    head_sig: str

    def encode(self) -> bytes:
        return json.dumps(
            {
                "v": VERSION,
                "device": self.device,
                "entries": [e.to_wire() for e in self.entries],
                "head": {"seq": self.head_seq, "hash": self.head_hash, "sig": self.head_sig},
            },
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()

    @classmethod
    def decode(cls, payload: bytes) -> Batch:
        """ValueError for anything that is not a well-formed version-1 batch."""
        try:
            data = json.loads(payload)
            if data.get("v") != VERSION:
                raise ValueError(f"unknown batch version {data.get('v')!r}")
            head = data["head"]
            entries = [Entry.from_wire(e) for e in data["entries"]]
            if not entries:
                raise ValueError("empty batch")
            return cls(str(data["device"]), entries, int(head["seq"]), str(head["hash"]), str(head["sig"]))
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed batch: {exc!r}") from None


@dataclass(frozen=True)
class Ack:
    device: str
    seq: int
    hash: str
    status: str = ACK_OK
    reason: str = ""

    def encode(self) -> bytes:
        return json.dumps(
            {"v": VERSION, "device": self.device, "seq": self.seq, "hash": self.hash,
             "status": self.status, "reason": self.reason},
            separators=(",", ":"),
        ).encode()  # fmt: skip

    @classmethod
    def decode(cls, payload: bytes) -> Ack:
        try:
            d = json.loads(payload)
            return cls(str(d["device"]), int(d["seq"]), str(d["hash"]), str(d["status"]), str(d.get("reason", "")))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"malformed ack: {exc!r}") from None
