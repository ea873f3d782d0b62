"""Making a disclosure package: one ZIP archive, every file's SHA-256 in a manifest signed with
the unit's audit key, the act itself audited (who, redacted or not, the archive's hash).

Layout (``FORMAT``)::

    README.txt               what this is and how to check it, with or without fieldface
    report.pdf               the lead report (device/disclosure/pdf.py)
    case.json                examination, people and training, search, probe quality, model,
                             policy at the time of the search, edits, review, release, timeline
    candidates.json          every candidate the examiner saw (redactions marked)
    evaluations.json         the operational tests the unit holds
    images/                  original probe, searched image, face crops, candidates' gallery images
    audit/entries.jsonl      the examination's audit entries and the links to their checkpoints
    audit/checkpoints.json   the signed checkpoints covering them
    manifest.json            format, unit, case, who made it, redactions, {file: sha256, size}
    manifest.sig             Ed25519 over MANIFEST_DOMAIN + newline + manifest.json's bytes

Members are stored, not compressed: the pictures are JPEG/PNG already, and a plain byte scan of
the archive (what the redaction test does) sees every member as it is. The archive is built in
memory, audited, and only then handed out (CLI: written atomically, mode 0600), so there is no
package the log does not know of. With a recipient's key the archive leaves sealed to it
(seal.py); the audit entry then says so and names the key.

Who may make one: whoever may see the examination, once its lead report is released; for an
examination closed without a lead, a supervisor. Unredacted only for the policy's roles
(device/disclosure/redact.py).
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from datetime import datetime

from device.audit import Draft
from device.demo import is_example
from device.disclosure import facts as gather_facts
from device.disclosure import pdf, redact, seal
from device.disclosure.verify import FORMAT, MANIFEST, MANIFEST_DOMAIN, SIGNATURE, manifest_message
from device.errors import NotAllowedError, StepError, UsageError
from device.reports.evaluate import describe
from device.workflow.cases import EXAM_SELECT, Examination, get, may_view
from device.workflow.users import User, utc

MAX_CASE = 64


@dataclass(frozen=True)
class Package:
    data: bytes
    sha256: str
    filename: str
    manifest: dict
    audit_seq: int


def _json(obj) -> bytes:
    return (json.dumps(obj, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def choose(wf, user: User, case_id: str, exam_id: int | None) -> Examination:
    """The examination to package: the one named, or the case's only released (or closed) one."""
    case_id = (case_id or "").strip()
    if not case_id or len(case_id) > MAX_CASE:
        raise UsageError("a case number is required (at most 64 characters)")
    with wf.store.connection() as conn:
        if exam_id is not None:
            exam = get(conn, exam_id)
            if exam.case_id != case_id:
                raise UsageError(f"case examination {exam_id} belongs to case {exam.case_id!r}, not {case_id!r}")
            return exam
        exams = [Examination(*r) for r in conn.execute(EXAM_SELECT + " WHERE e.case_id = ? ORDER BY e.id",
                                                       (case_id,))]  # fmt: skip
    if not exams:
        raise UsageError(f"no case {case_id!r} on this unit")
    for status in ("released", "closed"):
        found = [e for e in exams if e.status == status]
        if len(found) == 1:
            return found[0]
        if found:
            ids = ", ".join(str(e.id) for e in found)
            raise UsageError(
                f"case {case_id!r} has {len(found)} {status} examinations ({ids}): choose one with --exam N"
            )
    raise StepError(f"case {case_id!r} has no released lead report and no examination closed without a lead")


def check_access(user: User, exam: Examination) -> None:
    if not may_view(user, exam):
        raise NotAllowedError(f"case examination {exam.id} belongs to another user: refused")
    if exam.status == "closed":
        if not user.has("supervisor"):
            raise NotAllowedError("a package of an examination closed without a lead is made when a supervisor asks")
    elif exam.status != "released":
        raise StepError(f"case examination {exam.id} is at '{exam.status}': a package is made once its lead report "
                        "is released (or, for one closed without a lead, by a supervisor)")  # fmt: skip


def _readme(manifest: dict) -> bytes:
    text = f"""fieldface disclosure package: case {manifest["case"]}, examination {manifest["examination"]}
{"EXAMPLE CASE from the demo data: not a real investigation." if manifest["example"] else ""}
{manifest["statement"]}

Made on unit {manifest["device"]} at {manifest["created_at"]} by {manifest["created_by"]} ({manifest["role"]}).
{
        "Redacted copy: candidates other than the lead are withheld (see candidates.json)."
        if manifest["redacted"]
        else "Unredacted copy: it holds the face images and names of every candidate. Handle as biometric data."
    }

Check it (offline; the public key must come from a trusted place, not from this package):
    fieldface package verify THIS.zip --public-key @unit.pub

Without fieldface: manifest.json lists every other file with its SHA-256 and size (sha256sum);
manifest.sig is the hex Ed25519 signature, by the unit's audit key, over the bytes
"{MANIFEST_DOMAIN.decode()}" + a newline + the bytes of manifest.json. audit/entries.jsonl holds
audit entries (hash = SHA-256 of the entry's canonical JSON without "hash" and "in_examination":
keys sorted, no spaces, UTF-8), each run of them linked by "prev" up to a checkpoint in
audit/checkpoints.json, signed over "fieldface-audit-head/1\\n<device>\\n<seq>\\n<hash>".
"""
    return text.encode()


def make_package(wf, user: User, case_id: str, exam_id: int | None = None, redacted: bool = True,
                 recipient=None) -> Package:  # fmt: skip
    """Build, audit and return the package (bytes in memory; the caller writes or serves them).
    ``recipient`` (an X25519 public key): the archive comes sealed to it (device/disclosure/seal.py)."""
    exam = choose(wf, user, case_id, exam_id)
    check_access(user, exam)
    policy = wf.policy()
    redact.check_allowed(user, policy, redacted)
    facts = gather_facts.gather(wf, exam)
    redactions = redact.redact(facts, exam.lead_rank) if redacted else []
    now = wf.now()
    example = is_example(exam.case_id, wf.audit.device_id)
    role = user.acting_as("supervisor", "auditor", "examiner", "reviewer")
    note = (f"Disclosure package made {utc(now)} by {user.username} ({role}); "
            + ("redacted: candidates other than the lead withheld." if redacted else "unredacted."))  # fmt: skip
    evaluations = [line for e in facts.evaluations for line in describe(e | {"evaluation_id": e["id"]})]
    images = dict(facts.images)
    files: dict[str, bytes] = {
        "report.pdf": pdf.render(
            facts.record,
            facts.candidates,
            images,
            redacted=redacted,
            example=example,
            evaluations=evaluations,
            package_note=note,
        ),
        "case.json": _json(facts.record | {"example": example}),
        "candidates.json": _json(
            {
                "redacted": redacted,
                "redaction_statement": redact.STATEMENT if redacted else None,
                "candidates": facts.candidates,
            }
        ),
        "evaluations.json": _json(facts.evaluations),
        **images,
        **dict(facts.candidate_images.values()),
        "audit/entries.jsonl": b"".join(
            json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"
            for e in facts.audit_entries
        ),
        "audit/checkpoints.json": _json(facts.checkpoints),
    }
    manifest = {
        "format": FORMAT, "device": wf.audit.device_id, "public_key_hint": wf.audit.signer.public_key_hex,
        "case": exam.case_id, "examination": exam.id, "status": exam.status, "example": example,
        "created_at": utc(now), "created_by": user.username, "role": role,
        "redacted": redacted, "redactions": redactions, "statement": facts.record["statement"],
    }  # fmt: skip
    files = {"README.txt": _readme(manifest), **files}
    manifest["files"] = {name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
                         for name, data in files.items()}  # fmt: skip
    manifest_bytes = _json(manifest)
    files[MANIFEST] = manifest_bytes
    files[SIGNATURE] = (wf.audit.signer.sign(manifest_message(manifest_bytes)) + "\n").encode()
    data = _zip(files, now)
    sha = hashlib.sha256(data).hexdigest()
    sealed = {}
    if recipient is not None:
        data = seal.seal(data, recipient)
        sealed = {"recipient": seal.fingerprint(recipient), "sealed_sha256": hashlib.sha256(data).hexdigest()}
    ranks = ranks_text([r["rank"] for r in redactions])
    details = {"examination": exam.id, "redacted": redacted, "redacted_ranks": ranks,
               "sha256": sha, "manifest_sha256": hashlib.sha256(manifest_bytes).hexdigest(), "files": len(files),
               "bytes": len(data), "example": example, "encrypted": recipient is not None, **sealed}  # fmt: skip
    with wf.store.connection() as conn, wf.store.transaction(conn):
        [entry] = wf.audit.append_in(conn, [Draft("package.create", user.username, role, f"exam:{exam.id}",
                                                  exam.case_id, details=details)])  # fmt: skip
    safe_case = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in exam.case_id)
    name = f"fieldface-{safe_case}-exam{exam.id}-{'redacted' if redacted else 'full'}.zip"
    name += ".sealed" if recipient is not None else ""
    return Package(data, sha, name, manifest, entry.seq)


def ranks_text(ranks: list[int]) -> str:
    """``[2, 3, 4, 7]`` as ``"2-4,7"``: the audit refuses long lists of numbers (they could be an
    embedding), and a top K of 20 redacts 19 ranks."""
    parts: list[str] = []
    for rank in sorted(ranks):
        if parts and parts[-1].split("-")[-1] == str(rank - 1):
            parts[-1] = f"{parts[-1].split('-')[0]}-{rank}"
        else:
            parts.append(str(rank))
    return ",".join(parts)


def _zip(files: dict[str, bytes], when: datetime) -> bytes:
    buf = io.BytesIO()
    stamp = (max(when.year, 1980), when.month, when.day, when.hour, when.minute, when.second)
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            info = zipfile.ZipInfo(name, stamp)
            info.external_attr = 0o600 << 16
            archive.writestr(info, data)
    return buf.getvalue()
