"""Checking a disclosure package offline, with nothing but the package and the unit's public key.

Imports no store, no model and no workflow: an oversight body or a court expert runs it on their
own machine (``fieldface package verify FILE --public-key @unit.pub``). Each finding names what
is wrong:

  unreadable  not a ZIP archive, or no readable manifest
  wrong-key   the manifest is signed, but by another key than the one given (the manifest's
              own key hint verifies it): the package is from another unit, or the key is wrong
  manifest    the manifest's signature fails: manifest.json or manifest.sig was changed
  altered     a file's bytes differ from what the manifest lists (or the archive's CRC fails)
  missing     a file the manifest lists is not in the archive
  extra       a file in the archive that the manifest does not list
  audit       an audit entry or its proof does not hold: content not matching its hash, a broken
              link, a checkpoint signature that fails, an entry no checkpoint covers
  mismatch    the images or records disagree with the signed audit entries (e.g. the original
              probe's SHA-256 is not the one ``exam.start`` recorded)
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from device.audit.entry import Entry
from device.audit.signing import parse_public_key, signature_valid
from device.audit.verify import ChainChecker

FORMAT = "fieldface-disclosure/1"
MANIFEST_DOMAIN = b"fieldface-disclosure-manifest/1"
MANIFEST, SIGNATURE = "manifest.json", "manifest.sig"
SEALED = b"fieldface-sealed-package/1\n"
# A package stores its members uncompressed; a member claiming far more than this is not one of
# ours, and reading it could exhaust the checker's memory (a "zip bomb").
MAX_MEMBER = 1 << 30  # device/disclosure/seal.py (not imported: verify stays small)


@dataclass(frozen=True)
class Finding:
    kind: str
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.where}: {self.message}"


@dataclass
class PackageReport:
    path: str
    manifest: dict = field(default_factory=dict)
    files: int = 0
    audit_entries: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def add(self, kind: str, where: str, message: str) -> None:
        self.findings.append(Finding(kind, where, message))


def _members(archive: zipfile.ZipFile, report: PackageReport) -> dict[str, bytes | None]:
    """Every member's bytes; None for one whose bytes fail the archive's own CRC."""
    out: dict[str, bytes | None] = {}
    for info in archive.infolist():
        if info.file_size > MAX_MEMBER or info.file_size > 1000 * max(info.compress_size, 1):
            report.add("unreadable", info.filename, f"claims {info.file_size} bytes: not read (no package member is)")
            out[info.filename] = None
            continue
        if info.filename in out:
            report.add("extra", info.filename, "the archive holds two files of this name")
            continue
        try:
            out[info.filename] = archive.read(info)
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            report.add("altered", info.filename, f"its bytes were changed ({exc})")
            out[info.filename] = None
    return out


def verify_package(path: Path, public_key: Ed25519PublicKey) -> PackageReport:
    report = PackageReport(str(path))
    try:
        with open(path, "rb") as head:
            if head.read(len(SEALED)) == SEALED:
                report.add("unreadable", str(path), "sealed to a recipient: open it first (fieldface package open)")
                return report
    except OSError as exc:
        report.add("unreadable", str(path), f"cannot read it ({exc.strerror})")
        return report
    try:
        with zipfile.ZipFile(path) as archive:
            members = _members(archive, report)
    except (zipfile.BadZipFile, OSError) as exc:
        report.add("unreadable", str(path), f"not a readable ZIP archive ({exc})")
        return report
    manifest_bytes, sig = members.get(MANIFEST), members.get(SIGNATURE)
    if manifest_bytes is None or sig is None:
        report.add("unreadable" if MANIFEST not in members else "manifest",
                   MANIFEST if manifest_bytes is None else SIGNATURE, "missing or unreadable")  # fmt: skip
        return report
    try:
        manifest = json.loads(manifest_bytes)
        listed = manifest["files"]
        if manifest.get("format") != FORMAT or not isinstance(listed, dict):
            raise ValueError(f"format {manifest.get('format')!r}")
    except (ValueError, KeyError, TypeError) as exc:
        report.add("manifest", MANIFEST, f"not a fieldface disclosure manifest ({exc})")
        return report
    report.manifest = {k: manifest.get(k) for k in ("device", "case", "examination", "created_at", "created_by",
                                                    "redacted", "example")}  # fmt: skip
    _check_signature(report, manifest, manifest_bytes, sig, public_key)
    for name, want in listed.items():
        data = members.get(name, b"") if name in members else None
        if name not in members:
            report.add("missing", name, "listed in the manifest, not in the archive")
        elif data is not None and (hashlib.sha256(data).hexdigest() != want.get("sha256")
                                   or len(data) != want.get("size")):  # fmt: skip
            report.add("altered", name, "its SHA-256 differs from the manifest's")
    for name in members:
        if name not in listed and name not in (MANIFEST, SIGNATURE):
            report.add("extra", name, "in the archive but not in the manifest")
    report.files = len(listed)
    if any(f.kind == "wrong-key" for f in report.findings):
        return report  # every checkpoint would fail too: one finding says why
    entries = _check_audit(report, members, manifest, public_key)
    _cross_check(report, members, entries)
    return report


def manifest_message(manifest_bytes: bytes) -> bytes:
    """What manifest.sig signs: its own domain, so no other signature of the unit can pass for it."""
    return MANIFEST_DOMAIN + b"\n" + manifest_bytes


def _check_signature(report, manifest, manifest_bytes, sig, key) -> None:
    message = manifest_message(manifest_bytes)
    sig_hex = sig.decode("ascii", "replace").strip()
    if signature_valid(key, message, sig_hex):
        return
    hint = manifest.get("public_key_hint")
    try:
        signed_by_hint = isinstance(hint, str) and signature_valid(parse_public_key(hint), message, sig_hex)
    except Exception:  # noqa: BLE001 - a garbled hint is just no hint
        signed_by_hint = False
    if signed_by_hint:
        unit = manifest.get("device")
        report.add("wrong-key", SIGNATURE, f"signed by another key (ed25519:{hint[:16]}…, unit {unit!r}) than "
                   "the one given: wrong public key or another unit's package")  # fmt: skip
    else:
        report.add("manifest", MANIFEST, "the signature does not verify: manifest.json or manifest.sig was changed")


def _check_audit(report, members, manifest, key) -> dict[int, Entry]:
    entries: dict[int, Entry] = {}
    raw_entries, raw_cps = members.get("audit/entries.jsonl"), members.get("audit/checkpoints.json")
    if raw_entries is None or raw_cps is None:
        return entries
    own: set[int] = set()
    try:
        for line in raw_entries.decode().splitlines():
            wire = json.loads(line)
            if wire.pop("in_examination", False):
                own.add(int(wire["seq"]))
            entry = Entry.from_wire(wire)
            entries[entry.seq] = entry
        checkpoints = {int(c["seq"]): c for c in json.loads(raw_cps)}
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        report.add("audit", "audit/entries.jsonl", f"unreadable ({exc})")
        return {}
    report.audit_entries = len(entries)
    device = str(manifest.get("device"))
    run: list[Entry] = []
    covered: set[int] = set()
    for seq in sorted(entries):
        run.append(entries[seq])
        if seq in checkpoints:
            problems = _check_run(run, checkpoints[seq], device, key)
            for p in problems:
                report.add("audit", f"audit entry {p.seq}", f"{p.kind}: {p.message}")
            if not problems:
                covered.update(e.seq for e in run)
            run = []
        elif seq + 1 not in entries:
            for e in run:
                report.add("audit", f"audit entry {e.seq}", "no signed checkpoint in the package covers it")
            run = []
    for seq in sorted(own - covered):
        if seq in entries and not any(f.where == f"audit entry {seq}" for f in report.findings):
            report.add("audit", f"audit entry {seq}", "not proven by a signed checkpoint")
    return entries


def _check_run(run: list[Entry], cp: dict, device: str, key):
    first = run[0]
    checker = ChainChecker(device, key, start_seq=first.seq - 1, start_hash=None)
    for entry in run:
        checker.feed(entry)
    checker.signed_head(int(cp["seq"]), str(cp["hash"]), str(cp["sig"]))
    return checker.finish().problems


def _cross_check(report, members, entries: dict[int, Entry]) -> None:
    """The pictures are the ones the signed log names (independently of the manifest)."""
    by_action: dict[str, list[Entry]] = {}
    for entry in entries.values():
        by_action.setdefault(entry.action, []).append(entry)
    originals = [n for n in members if n.startswith("images/probe-original.")]
    for start in by_action.get("exam.start", [])[:1]:
        want = start.details.get("probe_sha256")
        for name in originals:
            data = members[name]
            if data is not None and hashlib.sha256(data).hexdigest() != want:
                report.add("mismatch", name, f"not the probe audit entry {start.seq} (exam.start) recorded")
    searched = members.get("images/probe-searched.png")
    for entry in by_action.get("exam.search", [])[:1]:
        want = entry.details.get("searched_sha256")
        if searched is not None and hashlib.sha256(searched).hexdigest() != want:
            report.add("mismatch", "images/probe-searched.png", f"not the image audit entry {entry.seq} searched")
