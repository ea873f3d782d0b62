"""One audit entry: its fields, its canonical serialisation and its hash.

The canonical form is the JSON object of every field except ``hash``, keys sorted, no spaces,
UTF-8, no NaN. It is what the database stores in ``audit_log.body``, what is hashed, and what is
exported and synced, so a receiver re-hashes exactly the bytes the device hashed.
``hash = SHA-256(canonical)``; ``prev`` is the previous entry's hash (GENESIS for the first), which
chains the log: changing, removing or moving any entry breaks every link after it.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from device.errors import UsageError

FORMAT_VERSION = 1
GENESIS = "0" * 64
# The fields of a body, in no particular order (canonical JSON sorts them).
BODY_FIELDS = (
    "v", "seq", "at", "mono_ns", "boot", "device", "actor", "role",
    "action", "object", "case", "outcome", "details", "prev",
)  # fmt: skip
OUTCOMES = ("ok", "denied", "failed", "error")

# Limits that keep biometric data out: an embedding is a long list of numbers, an image or a
# template is a long string. Ids, hashes, reasons and counts fit easily under these.
MAX_DETAILS_BYTES = 4096
MAX_STRING = 1024
MAX_NUMBER_LIST = 16


class Clock(Protocol):
    """UTC wall time for people, monotonic time for ordering within one boot."""

    def utc(self) -> str: ...
    def monotonic_ns(self) -> int: ...
    def boot_id(self) -> str: ...


class SystemClock:
    def __init__(self, boot_id_path: Path = Path("/proc/sys/kernel/random/boot_id")):
        try:
            self._boot = boot_id_path.read_text("ascii").strip()
        except OSError:  # not Linux: a per-process id still scopes the monotonic clock honestly
            self._boot = f"process-{uuid.uuid4()}"

    def utc(self) -> str:
        return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()

    def boot_id(self) -> str:
        return self._boot


def canonical(obj: dict) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def digest(body: dict) -> str:
    return hashlib.sha256(canonical(body)).hexdigest()


@dataclass(frozen=True)
class Draft:
    """What a caller records; seq, time and chain links are added at commit."""

    action: str
    actor: str
    role: str
    object: str | None = None
    case: str | None = None
    outcome: str = "ok"
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        for name in ("action", "actor", "role"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value or len(value) > 200:
                raise UsageError(f"audit entry: {name} must be a non-empty string of at most 200 characters")
        for name in ("object", "case"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or len(value) > 200):
                raise UsageError(f"audit entry: {name} must be a string of at most 200 characters or None")
        if self.outcome not in OUTCOMES:
            raise UsageError(f"audit entry: outcome must be one of {', '.join(OUTCOMES)}, got {self.outcome!r}")
        check_details(self.details)


def check_details(details: Any) -> None:
    if not isinstance(details, dict):
        raise UsageError("audit entry: details must be a JSON object")
    try:
        size = len(canonical(details))
    except (TypeError, ValueError) as exc:
        raise UsageError(f"audit entry: details are not plain JSON ({exc})") from None
    _check_value(details, "details")
    if size > MAX_DETAILS_BYTES:
        raise UsageError(f"audit entry: details are {size} bytes, more than {MAX_DETAILS_BYTES}")


def _check_value(value: Any, where: str) -> None:
    if isinstance(value, str) and len(value) > MAX_STRING:
        raise UsageError(f"audit entry: {where} is a {len(value)}-character string: no images or templates")
    if isinstance(value, list):
        numbers = sum(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        if numbers > MAX_NUMBER_LIST:
            raise UsageError(f"audit entry: {where} holds {numbers} numbers: no embeddings in the audit log")
        for i, item in enumerate(value):
            _check_value(item, f"{where}[{i}]")
    if isinstance(value, dict):
        for key, item in value.items():
            _check_value(item, f"{where}.{key}")


@dataclass(frozen=True)
class Entry:
    """A committed entry: the canonical body and its hash."""

    seq: int
    at: str
    mono_ns: int
    boot: str
    device: str
    actor: str
    role: str
    action: str
    object: str | None
    case: str | None
    outcome: str
    details: dict[str, Any]
    prev: str
    hash: str
    v: int = FORMAT_VERSION

    @classmethod
    def build(cls, draft: Draft, *, seq: int, prev: str, device: str, clock: Clock) -> Entry:
        body = {
            "v": FORMAT_VERSION,
            "seq": seq,
            "at": clock.utc(),
            "mono_ns": clock.monotonic_ns(),
            "boot": clock.boot_id(),
            "device": device,
            "actor": draft.actor,
            "role": draft.role,
            "action": draft.action,
            "object": draft.object,
            "case": draft.case,
            "outcome": draft.outcome,
            "details": draft.details,
            "prev": prev,
        }
        return cls.from_body(body, digest(body))

    @classmethod
    def from_body(cls, body: dict, hash_hex: str) -> Entry:
        """An entry from a body as stored or received; raises ValueError if fields are missing."""
        if set(body) != set(BODY_FIELDS):
            raise ValueError(f"fields {sorted(set(body) ^ set(BODY_FIELDS))} missing or unexpected")
        return cls(hash=hash_hex, **body)

    def body(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in BODY_FIELDS}

    def canonical(self) -> bytes:
        return canonical(self.body())

    def computed_hash(self) -> str:
        return digest(self.body())

    def to_wire(self) -> dict[str, Any]:
        """The exported / synced form: the body plus its hash."""
        return {**self.body(), "hash": self.hash}

    @classmethod
    def from_wire(cls, data: dict) -> Entry:
        data = dict(data)
        hash_hex = data.pop("hash", None)
        if not isinstance(hash_hex, str):
            raise ValueError("no hash")
        return cls.from_body(data, hash_hex)
