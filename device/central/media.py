"""The removable-media transport: an audit export (``fieldface audit export``) carried from a unit
that never connects, through the same Verifier as an MQTT batch (``central receive-file``).

The file's own checks come first (device/audit/export.py: chain, the signed end line, so a cut or
edited file is refused), with the key central registered for the unit, never the file's own.
Then its entries and chain-head signatures go to ``Verifier.accept``: duplicates of what central
holds are harmless, a file that starts after central's head is refused as a gap (export again
with ``--after HEAD``), an epoch entry opens an epoch as it would over MQTT.
"""

from __future__ import annotations

import json
from pathlib import Path

from device.audit.entry import Entry
from device.audit.export import EXPORT_FORMAT, verify_export
from device.central.verifier import Outcome, Refusal, Verifier
from device.errors import AuditError, SyncError, UsageError
from device.sync.protocol import ACK_GAP, ACK_REJECTED

MAX_FILE_BYTES = 2 << 30


def receive_file(verifier: Verifier, path: Path) -> tuple[str, Outcome]:
    """``(unit, outcome)``; AuditError (exit 6) for a file or chain that does not verify, SyncError
    (exit 7) for a file that does not continue what central holds."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise UsageError(f"{path} is larger than {MAX_FILE_BYTES >> 30} GiB: export in parts with --after")
        lines = path.read_text("utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        header = json.loads(lines[0]) if lines else {}
        if header.get("type") != "header" or header.get("format") != EXPORT_FORMAT:
            raise ValueError
        unit = str(header["device"])
    except (ValueError, KeyError, TypeError, AttributeError):
        raise UsageError(f"{path} is not a fieldface audit export") from None
    key = verifier.key(unit)
    if key is None:
        verifier.refuse(unit, Refusal("unknown-device", 0, f"unit {unit!r} is not registered"), "file")
        raise AuditError(f"{path}: unit {unit!r} is not registered (fieldface central unit add CARD)")
    report = verify_export(lines, key)
    if not report.ok:
        first = report.problems[0]
        verifier.refuse(unit, Refusal(first.kind, first.seq, f"{path.name}: {first.message}"), "file")
        raise AuditError(f"{path} does not verify with unit {unit}'s registered key: {first}")
    entries, signatures = [], {}
    for text in lines[1:]:
        obj = json.loads(text)
        kind = obj.pop("type")
        if kind == "entry":
            entries.append(Entry.from_wire(obj))
        elif kind == "head":
            signatures[int(obj["seq"])] = str(obj["sig"])
        elif kind == "end" and obj.get("head_sig"):
            signatures[int(obj["seq"])] = str(obj["head_sig"])
    if not entries:
        raise UsageError(f"{path} holds no entries")
    outcome = verifier.accept(unit, entries, signatures, "file")
    if outcome.status == ACK_GAP:
        raise SyncError(
            f"{path} starts at seq {entries[0].seq} but central holds unit {unit} only up to "
            f"{outcome.head_seq}: export again with --after {outcome.head_seq}"
        )
    if outcome.status == ACK_REJECTED:
        raise AuditError(f"{path} refused: {outcome.reason}")
    return unit, outcome
