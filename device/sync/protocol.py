"""What travels over MQTT: topics and payloads, version 1.

Topics, per device (the broker's ACL lets a device touch only its own):
    <prefix>/<device>/entries   device -> receiver, QoS 1: a batch of entries
    <prefix>/<device>/ack       receiver -> device, QoS 1, retained: the receiver's head
    <prefix>/<device>/status    device, retained: a signed heartbeat, or "offline" by last will
    <prefix>/<device>/recovery  receiver -> device, QoS 1, retained: the entries a restored device lost

A batch is ``{"v": 1, "device", "entries": [wire entries], "head": {"seq", "hash", "sig"}}``,
where ``head`` is the device's signature over its last entry: with the chain it vouches for every
entry of the batch. An ack is ``{"v": 1, "device", "seq", "hash", "status", "reason", "epoch", "epoch_seq",
"epoch_hash"}``: ``seq`` and ``hash`` are the head the receiver holds for the device's current
epoch after handling the batch, ``epoch_seq``/``epoch_hash`` the entry that opened that epoch
(0 and GENESIS for the first; device/audit/epoch.py). The ack is retained so that a device that
restarts learns the receiver's head as soon as it subscribes.

A heartbeat is ``{"v": 1, "device", "state": "online", "head": {"seq", "hash", "sig"}, "acked",
"backlog", "uptime_s", "version", "disk": {"free_bytes", "low"}, "sent_at"}``; the last will is
``{"v": 1, "device", "state": "offline"}``. The head is signed like a batch head, so central can
trust how far behind a device is.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from device.audit.entry import GENESIS, Entry

VERSION = 1
# What a receiver sends a restored unit (retained on its recovery topic, or as a file): the entries
# its lost timeline held, with the signed head central kept (device/sync/recovery.py).
RECOVERY_FORMAT = "fieldface-audit-recovery/1"
ACK_OK = "ok"  # stored (or already held): the receiver's head is seq
ACK_GAP = "gap"  # the batch starts after the receiver's head: resend from head + 1
ACK_REJECTED = "rejected"  # not stored (bad signature, fork, unknown device): reason says why


def entries_topic(prefix: str, device: str) -> str:
    return f"{prefix}/{device}/entries"


def ack_topic(prefix: str, device: str) -> str:
    return f"{prefix}/{device}/ack"


def status_topic(prefix: str, device: str) -> str:
    return f"{prefix}/{device}/status"


def recovery_topic(prefix: str, device: str) -> str:
    return f"{prefix}/{device}/recovery"


def device_of(topic: str, prefix: str) -> str | None:
    """The device id in ``<prefix>/<device>/<kind>``; None if the topic is not ours."""
    return split_topic(topic, prefix)[0]


def split_topic(topic: str, prefix: str) -> tuple[str | None, str | None]:
    """``(device, kind)`` of ``<prefix>/<device>/<kind>``; ``(None, None)`` if the topic is not ours."""
    rest = topic.removeprefix(prefix + "/")
    parts = rest.split("/")
    if rest == topic or len(parts) != 2 or not parts[0]:
        return None, None
    return parts[0], parts[1]


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
    epoch: int = 0
    epoch_seq: int = 0
    epoch_hash: str = GENESIS
    lost: int = 0  # the current epoch's lost range ends here (0: nothing lost): a recovery is due

    def encode(self) -> bytes:
        return json.dumps(
            {"v": VERSION, "device": self.device, "seq": self.seq, "hash": self.hash,
             "status": self.status, "reason": self.reason, "epoch": self.epoch,
             "epoch_seq": self.epoch_seq, "epoch_hash": self.epoch_hash, "lost": self.lost},
            separators=(",", ":"),
        ).encode()  # fmt: skip

    @classmethod
    def decode(cls, payload: bytes) -> Ack:
        try:
            d = json.loads(payload)
            return cls(str(d["device"]), int(d["seq"]), str(d["hash"]), str(d["status"]), str(d.get("reason", "")),
                       int(d.get("epoch", 0)), int(d.get("epoch_seq", 0)), str(d.get("epoch_hash", GENESIS)),
                       int(d.get("lost", 0)))  # fmt: skip
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"malformed ack: {exc!r}") from None


def offline_payload(device: str) -> bytes:
    return json.dumps({"v": VERSION, "device": device, "state": "offline"}, separators=(",", ":")).encode()


@dataclass(frozen=True)
class Heartbeat:
    device: str
    state: str  # online | offline
    report: dict  # head {seq, hash, sig}, acked, backlog, uptime_s, version, disk, sent_at

    def encode(self) -> bytes:
        return json.dumps({"v": VERSION, "device": self.device, "state": self.state, **self.report},
                          separators=(",", ":"), sort_keys=True).encode()  # fmt: skip

    @classmethod
    def decode(cls, payload: bytes) -> Heartbeat:
        try:
            d = json.loads(payload)
            if not isinstance(d, dict) or d.get("v") != VERSION or d.get("state") not in ("online", "offline"):
                raise ValueError("not a version-1 status message")
            report = {k: v for k, v in d.items() if k not in ("v", "device", "state")}
            if d["state"] == "online":
                head = report["head"]
                int(head["seq"]), str(head["hash"]), str(head["sig"])
                if len(json.dumps(report)) > 4096:
                    raise ValueError("status message too large")
            return cls(str(d["device"]), d["state"], report)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"malformed status message: {exc!r}") from None
