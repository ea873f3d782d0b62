"""The disclosure package: complete, signed, verifiable offline; tampering named; redaction real."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from pypdf import PdfReader

from device.audit.signing import parse_public_key
from device.disclosure import make_package, verify_package
from device.disclosure.package import ranks_text
from device.disclosure.redact import redaction_hash
from device.disclosure.verify import manifest_message
from device.errors import NotAllowedError, StepError, UsageError
from device.gallery import Actor, SubjectInfo
from device.policy import set_setting
from device.reports import period
from tests.disclosure.conftest import LEAD_NAME, OTHER_NAME, released, variants
from tests.vision.conftest import photo_bytes


def unit_key(wf):
    return parse_public_key(wf.audit.signer.public_key_hex)


def write(tmp_path, data: bytes, name: str = "package.zip"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def rezip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buf.getvalue()


def kinds(report) -> set[tuple[str, str]]:
    return {(f.kind, f.where) for f in report.findings}


def test_a_released_case_packages_everything_and_verifies_offline(wf, people, tmp_path):
    exam = released(wf, people)
    package = make_package(wf, people["boss"], "CASE-1", redacted=False)
    files = members(package.data)
    manifest = json.loads(files["manifest.json"])
    assert set(manifest["files"]) == set(files) - {"manifest.json", "manifest.sig"}
    for name in ("README.txt", "report.pdf", "case.json", "candidates.json", "evaluations.json",
                 "images/probe-original.jpg", "images/probe-searched.png", "images/probe-face.jpg",
                 "images/lead-face.jpg", "audit/entries.jsonl", "audit/checkpoints.json"):  # fmt: skip
        assert name in files, name
    assert hashlib.sha256(files["images/probe-original.jpg"]).hexdigest() == exam.probe_sha256
    assert hashlib.sha256(files["images/probe-searched.png"]).hexdigest() == exam.searched_sha256
    record = json.loads(files["case.json"])
    assert record["examiner"]["training_valid_until"] and record["review"]["training_valid_until"]
    assert record["policy_at_search"]["search.top_k"]["value"] == wf.policy().top_k
    assert record["search"]["probe_quality"]["verdict"] in ("pass", "warn")
    assert [e["op"] for e in record["edits"]] == ["brightness_contrast"] and record["model_id"]
    shown = json.loads(files["candidates.json"])["candidates"]
    assert [c["rank"] for c in shown] == list(range(1, len(shown) + 1)) and len(shown) == 2
    assert all(c["disposition"] and len(c["checklist"]) == 11 and c["image"] in files for c in shown)
    # every audit entry of the examination is in the package, with the proof that it is signed
    entries = [json.loads(line) for line in files["audit/entries.jsonl"].splitlines()]
    own = {e["seq"] for e in entries if e["in_examination"]}
    assert {t["seq"] for t in record["timeline"]} <= own
    report = verify_package(write(tmp_path, package.data), unit_key(wf))
    assert report.ok, report.findings
    assert report.audit_entries == len(entries) and report.files == len(manifest["files"])
    # the act is audited: who, unredacted, the archive's hash
    [made] = [e for e in wf.audit.entries() if e.action == "package.create"]
    assert (made.actor, made.details["redacted"], made.details["sha256"]) == ("boss", False, package.sha256)
    assert made.seq == package.audit_seq


def test_every_altered_removed_or_added_file_and_a_changed_manifest_are_named(wf, people, tmp_path):
    released(wf, people)
    package = make_package(wf, people["exa"], "CASE-1")
    key, files = unit_key(wf), members(package.data)
    for name, data in files.items():
        if not data:
            continue
        # one byte changed inside the file, the archive rebuilt so that its CRCs are right
        changed = bytearray(data)
        changed[len(changed) // 2] ^= 0x01
        report = verify_package(write(tmp_path, rezip(files | {name: bytes(changed)})), key)
        expected = ("manifest", "manifest.json") if name in ("manifest.json", "manifest.sig") else ("altered", name)
        assert expected in kinds(report), (name, report.findings)
        # the file removed
        report = verify_package(write(tmp_path, rezip({n: d for n, d in files.items() if n != name})), key)
        assert not report.ok and (name in {f.where for f in report.findings}), (name, report.findings)
        if name not in ("manifest.json", "manifest.sig"):
            assert ("missing", name) in kinds(report)
    # a byte changed in the archive itself (the archive's CRC catches it and names the file)
    raw = bytearray(package.data)
    with zipfile.ZipFile(io.BytesIO(package.data)) as archive:
        info = archive.getinfo("report.pdf")
    raw[info.header_offset + 30 + len(info.filename) + 100] ^= 0xFF
    assert ("altered", "report.pdf") in kinds(verify_package(write(tmp_path, bytes(raw)), key))
    # a file slipped in, a manifest that lists a file differently, another unit's key
    report = verify_package(write(tmp_path, rezip(files | {"images/extra.jpg": b"x"})), key)
    assert ("extra", "images/extra.jpg") in kinds(report)
    manifest = json.loads(files["manifest.json"])
    manifest["redacted"] = False
    report = verify_package(write(tmp_path, rezip(files | {"manifest.json": json.dumps(manifest).encode()})), key)
    assert ("manifest", "manifest.json") in kinds(report)
    other = parse_public_key(
        Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    )
    assert {f.kind for f in verify_package(write(tmp_path, package.data), other).findings} == {"wrong-key"}
    assert {f.kind for f in verify_package(write(tmp_path, b"not a zip"), key).findings} == {"unreadable"}


def test_an_audit_entry_changed_inside_a_resigned_package_is_named(wf, people, tmp_path):
    """Even with the manifest re-signed by the unit itself, an edited audit entry fails its proof."""
    released(wf, people)
    package = make_package(wf, people["exa"], "CASE-1")
    files = members(package.data)
    lines = files["audit/entries.jsonl"].decode().splitlines()
    entry = json.loads(lines[0])
    entry["actor"] = "someone-else"
    lines[0] = json.dumps(entry, sort_keys=True)
    files["audit/entries.jsonl"] = ("\n".join(lines) + "\n").encode()
    manifest = json.loads(files["manifest.json"])
    manifest["files"]["audit/entries.jsonl"] = {"sha256": hashlib.sha256(files["audit/entries.jsonl"]).hexdigest(),
                                                "size": len(files["audit/entries.jsonl"])}  # fmt: skip
    files["manifest.json"] = json.dumps(manifest).encode()
    files["manifest.sig"] = wf.audit.signer.sign(manifest_message(files["manifest.json"])).encode()
    report = verify_package(write(tmp_path, rezip(files)), unit_key(wf))
    assert ("audit", f"audit entry {entry['seq']}") in kinds(report), report.findings


def _scan(data: bytes, needles: dict[str, bytes]) -> list[str]:
    """Which needles occur in the archive's bytes, any member's bytes or the PDF's text."""
    found = [label for label, needle in needles.items() if needle in data]
    files = members(data)
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(files["report.pdf"])).pages)
    for label, needle in needles.items():
        if any(needle in body for body in files.values()) or (needle.decode("utf-8", "ignore") in text):
            found.append(label)
    return sorted(set(found))


def test_a_redacted_package_verifies_and_holds_none_of_the_redacted_candidates_data(wf, people, tmp_path):
    released(wf, people)
    other_image = photo_bytes("biden.jpg")  # Person B, the candidate the examiner excluded
    needles = {"name": OTHER_NAME.encode(), "image head": other_image[:4096], "image tail": other_image[-4096:],
               "image sha256": hashlib.sha256(other_image).hexdigest().encode()}  # fmt: skip
    redacted = make_package(wf, people["exa"], "CASE-1")
    assert verify_package(write(tmp_path, redacted.data), unit_key(wf)).ok
    assert _scan(redacted.data, needles) == []
    files = members(redacted.data)
    assert LEAD_NAME.encode() in files["candidates.json"]  # the lead is disclosed
    shown = json.loads(files["candidates.json"])["candidates"]
    [withheld] = [c for c in shown if c.get("redacted")]
    assert withheld["image"] is None and "REDACTED" in withheld["redaction"]["statement"]
    assert withheld["disposition"] == "excluded" and len(withheld["redaction"]["sha256"]) == 64
    recorded = json.loads(files["manifest.json"])["redactions"]
    assert recorded == [{"rank": withheld["rank"], "sha256": withheld["redaction"]["sha256"]}]
    # the same scan finds all of it in the unredacted package (so it can fail), and the hash matches
    full = make_package(wf, people["boss"], "CASE-1", redacted=False)
    assert _scan(full.data, needles) == sorted(needles)
    [unredacted_row] = [c for c in json.loads(members(full.data)["candidates.json"])["candidates"]
                        if c["rank"] == withheld["rank"]]  # fmt: skip
    assert redaction_hash(unredacted_row) == withheld["redaction"]["sha256"]
    made = [e for e in wf.audit.entries() if e.action == "package.create"]
    assert [(e.actor, e.details["redacted"], e.details["redacted_ranks"]) for e in made] == [
        ("exa", True, str(withheld["rank"])), ("boss", False, "")]  # fmt: skip
    # the period report counts them: faces leave the box only this way
    today = datetime.now(UTC).date()
    figures = period.generate(wf.store, today, today, actor="aud", role="auditor", audit=wf.audit)["accountability"]
    assert (figures["disclosure_packages"], figures["unredacted_packages"], figures["unsealed_packages"]) == (2, 1, 2)


def test_the_pdf_opens_and_every_page_carries_the_statement_and_its_number(wf, people):
    released(wf, people)
    files = members(make_package(wf, people["exa"], "CASE-1").data)
    pages = PdfReader(io.BytesIO(files["report.pdf"])).pages
    assert len(pages) >= 2
    for number, page in enumerate(pages, start=1):
        text = " ".join(page.extract_text().split())
        assert "INVESTIGATIVE LEAD ONLY" in text and "not a positive identification" in text, number
        assert f"page {number} of {len(pages)}" in text
    images = [img for page in pages for img in page.images]
    assert len(images) >= 2, "the searched face and the candidate's, side by side"


def test_who_may_package_what(wf, people):
    exam = released(wf, people)
    with pytest.raises(NotAllowedError, match="unredacted"):
        make_package(wf, people["exa"], "CASE-1", redacted=False)
    with pytest.raises(NotAllowedError):
        make_package(wf, people["exb"], "CASE-1")  # another examiner's case
    assert make_package(wf, people["aud"], "CASE-1").manifest["redacted"] is True
    with pytest.raises(UsageError, match="no case"):
        make_package(wf, people["exa"], "CASE-404")
    with pytest.raises(UsageError, match="belongs to case"):
        make_package(wf, people["exa"], "CASE-2", exam.id)
    open_exam = wf.start(people["exa"], "CASE-3", "robbery", "warrant 1", photo_bytes("obama2.jpg"))
    with pytest.raises(StepError):
        make_package(wf, people["exa"], "CASE-3", open_exam.id)
    # the policy names who may take it unredacted; the change is the policy's own audited act
    set_setting(wf.store, wf.config, "policy.disclosure_unredacted_roles", ["examiner", "supervisor"],
                actor="boss", role="supervisor", reason="prosecutor's request, case 1")  # fmt: skip
    assert make_package(wf, people["exa"], "CASE-1", redacted=False).manifest["redacted"] is False


def test_an_examination_closed_without_a_lead_is_packaged_when_a_supervisor_asks(wf, people, tmp_path):
    exa = people["exa"]
    exam = wf.start(exa, "CASE-9", "robbery", "warrant 9", photo_bytes("obama2.jpg"))
    wf.run_search(exa, exam.id)
    wf.close_without_lead(exa, exam.id, "nobody plausible")
    with pytest.raises(NotAllowedError, match="supervisor"):
        make_package(wf, exa, "CASE-9")
    package = make_package(wf, people["boss"], "CASE-9")
    assert verify_package(write(tmp_path, package.data), unit_key(wf)).ok
    shown = json.loads(members(package.data)["candidates.json"])["candidates"]
    assert shown and all(c.get("redacted") for c in shown), "no lead: every candidate is withheld"


def test_a_case_with_twenty_candidates_redacts_nineteen_and_says_so_in_the_audit(wf, people, tmp_path):
    """Top K 20: the audit entry names the redacted ranks as ranges (it refuses long number lists)."""
    for i, data in enumerate(variants(18)):
        wf.gallery.enroll(SubjectInfo(f"Variant {i}", "test", "default", f"V-{i}"), [(f"v{i}.jpg", data)],
                          Actor("boss", "supervisor"), force_reason="test variants")  # fmt: skip
    exam = released(wf, people, "CASE-20")
    package = make_package(wf, people["exa"], "CASE-20")
    shown = json.loads(members(package.data)["candidates.json"])["candidates"]
    assert len(shown) == 20 and sum(bool(c.get("redacted")) for c in shown) == 19
    assert verify_package(write(tmp_path, package.data), unit_key(wf)).ok
    [made] = [e for e in wf.audit.entries() if e.action == "package.create"]
    assert made.details["redacted_ranks"] == ranks_text([r for r in range(1, 21) if r != exam.lead_rank])
    assert ranks_text([2, 3, 4, 7, 9, 10]) == "2-4,7,9-10"


def test_a_case_whose_probe_was_erased_under_retention_still_packages_and_says_so(wf, people, clock, tmp_path):
    exam = released(wf, people)
    clock.advance(days=wf.policy().probe_retain_days + 2)
    assert wf.purge(Actor("boss", "supervisor")).examinations == [exam.id]
    package = make_package(wf, people["boss"], "CASE-1")
    files = members(package.data)
    assert not any(name.startswith("images/probe-") for name in files)
    record = json.loads(files["case.json"])
    assert "erased under the retention policy" in record["images_erased"]
    assert record["examination"]["probe_sha256"] == exam.probe_sha256  # the hashes stay
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(files["report.pdf"])).pages)
    assert "erased under the retention policy" in " ".join(text.split())
    assert verify_package(write(tmp_path, package.data), unit_key(wf)).ok


def test_a_zip_bomb_is_not_read(wf, tmp_path):
    path = tmp_path / "bomb.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("manifest.json", b"\0" * (20 << 20))  # 20 MiB of zeros: ~20 KiB compressed
    report = verify_package(path, unit_key(wf))
    assert ("unreadable", "manifest.json") in kinds(report)
