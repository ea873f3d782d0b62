"""Export as JSON lines that verify on their own, with nothing but the device's public key.

    {"type": "header", "format": "fieldface-audit-export/1", "device": ..., "public_key": ..., "after": N}
    {"type": "entry", ...every body field..., "hash": ...}          one per entry, in order
    {"type": "head", "seq": S, "hash": H, "sig": ...}                the head before an epoch entry
    {"type": "end", "after": N, "seq": S, "hash": H, "count": K, "exported_at": T, "sig": ...,
     "head_sig": ...}

The end line is signed over (device, after, last seq, its hash, count, time) in its own signature
domain. Through the hash chain it vouches for every entry line; a file cut short has no end line
(or one that names a later seq), so truncation is detected as well as edits. The header's
public key is only a hint: the verifier must be given the key from a trusted place.

``head_sig`` and the ``head`` lines are chain-head signatures (the domain of batches and
checkpoints), so central can take a file through the very checks of an MQTT batch
(``fieldface central receive-file``): one signed head per epoch run (device/audit/epoch.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TextIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from device.audit.entry import GENESIS, Entry, SystemClock
from device.audit.epoch import EPOCH_ACTION
from device.audit.signing import export_end_message, head_signature_valid, signature_valid
from device.audit.verify import ChainChecker, Problem, Report

EXPORT_FORMAT = "fieldface-audit-export/1"


def _line(obj: dict) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def export(log, out: TextIO, after: int = 0) -> tuple[int, int]:
    """Write entries after ``after``; returns ``(count, last seq)``."""
    signer = log.signer
    out.write(_line({"type": "header", "format": EXPORT_FORMAT, "device": log.device_id,
                     "public_key": signer.public_key_hex, "after": after}))  # fmt: skip
    count, last_seq, last_hash = 0, after, log.entry_hash(after) or GENESIS
    for entry in log.iter_entries(after):
        if entry.action == EPOCH_ACTION and count:
            out.write(_line({"type": "head", "seq": last_seq, "hash": last_hash,
                             "sig": signer.sign_head(last_seq, last_hash)}))  # fmt: skip
        out.write(_line({"type": "entry", **entry.to_wire()}))
        count, last_seq, last_hash = count + 1, entry.seq, entry.hash
    at = SystemClock().utc()
    sig = signer.sign(export_end_message(log.device_id, after, last_seq, last_hash, count, at))
    out.write(_line({"type": "end", "after": after, "seq": last_seq, "hash": last_hash, "count": count,
                     "exported_at": at, "sig": sig, "head_sig": signer.sign_head(last_seq, last_hash)}))  # fmt: skip
    return count, last_seq


def verify_export(lines: Iterable[str], public_key: Ed25519PublicKey) -> Report:
    """Check an export file line by line; every problem names its seq (or line) and kind."""
    it = iter(enumerate(lines, start=1))
    try:
        _, first = next(it)
        header = json.loads(first)
        if header.get("type") != "header" or header.get("format") != EXPORT_FORMAT:
            raise ValueError("the first line is not an export header")
        device, after = str(header["device"]), int(header["after"])
    except (StopIteration, ValueError, KeyError, TypeError, AttributeError) as exc:
        report = Report(device="?")
        report.problems.append(Problem("edited", 0, f"line 1: not a fieldface audit export ({exc})"))
        return report
    checker = ChainChecker(device, public_key, start_seq=after, start_hash=None if after else GENESIS)
    ended = False
    for number, text in it:
        try:
            obj = json.loads(text)
            kind = obj.pop("type")
            if ended:
                checker.problem("inserted", checker.report.head_seq, f"line {number}: a line after the signed end")
            elif kind == "entry":
                checker.feed(Entry.from_wire(obj))
            elif kind == "head":
                checker.signed_head(int(obj["seq"]), str(obj["hash"]), str(obj["sig"]), "head line")
            elif kind == "end":
                ended = True
                _check_end(checker, device, after, obj, public_key)
            else:
                raise ValueError(f"unknown line type {kind!r}")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            checker.problem("edited", checker.report.head_seq + 1, f"line {number}: unreadable ({exc})")
    if not ended:
        r = checker.report
        checker.problem(
            "truncated", r.head_seq + 1, f"no signed end line: the export was cut off after seq {r.head_seq}"
        )
    return checker.finish(require_signed_end=ended)


def _check_end(checker: ChainChecker, device: str, after: int, end: dict, key: Ed25519PublicKey) -> None:
    r = checker.report
    try:
        seq, hash_hex, count = int(end["seq"]), str(end["hash"]), int(end["count"])
        if end.get("by") == "central" and "sig" not in end:
            # Exported by the central console: it holds the unit's signed chain head, not the
            # unit's export key. The head signature vouches for the chain, the chain for each line.
            valid = head_signature_valid(key, device, seq, hash_hex, str(end["head_sig"]))
        else:
            message = export_end_message(device, after, seq, hash_hex, count, str(end["exported_at"]))
            valid = signature_valid(key, message, str(end["sig"]))
    except (KeyError, ValueError, TypeError):
        valid = False
    if not valid:
        checker.problem("forged", r.head_seq, "the end line's signature does not verify with the device public key")
        return
    if seq > r.head_seq:
        checker.problem(
            "truncated",
            r.head_seq + 1,
            f"the signed end covers seq {seq} but the entries stop at {r.head_seq}",
        )
    elif r.entries != count:
        kind = "inserted" if r.entries > count else "deleted"
        checker.problem(kind, seq, f"the signed end counts {count} entries, the file holds {r.entries}")
    checker.signed_head_trusted(seq, hash_hex, "export end")
