"""Everything the unit holds on one examination, gathered once for a disclosure package.

Read only. The figures come from where the workflow keeps them (the examination, its search row,
candidates, dispositions, checklists, review, release; device/workflow), so the package says
exactly what the screens and the lead report say. Two things are reconstructed:

* the policy in force at the time of the search: today's values, walked back through every later
  ``policy.set``/``policy.reset`` audit entry (each records the old value), so the answer comes
  from the signed log rather than from memory;
* the audit proof: each audit entry of the examination (and of its search), with the entries of
  the same commit that follow it up to the signed checkpoint of that commit. Every commit writes
  one checkpoint signing its last entry, so a short run of bodies links each entry to a signature
  (``device/audit/log.py``); nothing else of the log leaves the box.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

from device.audit.log import entry_from_row
from device.errors import ErasedError
from device.policy import SETTINGS, Policy
from device.reports import evaluate
from device.workflow.analysis import FEATURES, _rows, search_facts
from device.workflow.cases import Examination, image_bytes
from device.workflow.enhance import edits, encode_jpeg, fit
from device.workflow.report import STATEMENT, timeline
from device.workflow.review import review_of

CROP_MAX_SIDE = 360
CROP_MARGIN = 0.25  # of the face box on each side: forehead, ears and chin stay in view


@dataclass
class Facts:
    record: dict  # case.json: the examination, people, search, policy, model, review, release
    candidates: list[dict]  # every candidate the examiner saw, in rank order
    evaluations: list[dict]  # operational tests the unit holds (summaries)
    audit_entries: list[dict]  # wire form (body + hash), seq order
    checkpoints: list[dict]  # the signed heads that cover them
    images: dict[str, bytes] = field(default_factory=dict)  # name in the package -> bytes
    candidate_images: dict[int, tuple[str, bytes]] = field(default_factory=dict)  # rank -> (name, bytes)
    erased: str | None = None  # why the probe's images are absent


def _user(conn, user_id: int | None) -> dict | None:
    if user_id is None:
        return None
    row = conn.execute("SELECT username, display_name, training_valid_until FROM users WHERE id = ?",
                       (user_id,)).fetchone()  # fmt: skip
    return dict(zip(("username", "name", "training_valid_until"), row, strict=True)) if row else None


def policy_at(conn, wf, seq: int) -> dict:
    """The policy values in force when audit entry ``seq`` was written (see the module doc)."""
    now = Policy.load(wf.store, wf.config, conn)
    values = {key: now.value(key) for key in SETTINGS}
    source = dict.fromkeys(SETTINGS, "in force today, unchanged since")
    rows = conn.execute(
        "SELECT body, hash FROM audit_log WHERE action IN ('policy.set', 'policy.reset') AND seq > ? ORDER BY seq",
        (seq,),
    ).fetchall()
    seen: set[str] = set()
    for body, hash_blob in rows:
        entry = entry_from_row(body, hash_blob)
        key = entry.details.get("key")
        if key in values and key not in seen:
            seen.add(key)
            values[key] = entry.details.get("old")
            source[key] = f"from audit entry {entry.seq} ({entry.action} {entry.at}): the value before it"
    return {key: {"value": values[key], "meaning": SETTINGS[key], "source": source[key]} for key in SETTINGS}


def audit_proof(conn, objects: list[str]) -> tuple[list[dict], list[dict], set[int]]:
    """``(entries, checkpoints, seqs of the examination's own entries)``."""
    marks = ",".join("?" * len(objects))
    own = [r[0] for r in conn.execute(f"SELECT seq FROM audit_log WHERE object IN ({marks}) ORDER BY seq", objects)]  # noqa: S608
    wanted: set[int] = set()
    checkpoints: dict[int, dict] = {}
    for seq in own:
        if seq in wanted:
            continue
        cp = conn.execute("SELECT seq, hash, sig, at FROM audit_checkpoint WHERE seq >= ? ORDER BY seq LIMIT 1",
                          (seq,)).fetchone()  # fmt: skip
        last = cp[0] if cp else seq
        wanted.update(range(seq, last + 1))
        if cp:
            checkpoints[cp[0]] = {"seq": cp[0], "hash": bytes(cp[1]).hex(), "sig": bytes(cp[2]).hex(), "at": cp[3]}
    entries = []
    for seq in sorted(wanted):
        row = conn.execute("SELECT body, hash FROM audit_log WHERE seq = ?", (seq,)).fetchone()
        if row:
            entries.append(entry_from_row(*row).to_wire())
    return entries, [checkpoints[s] for s in sorted(checkpoints)], set(own)


def face_crop(recognizer, data: bytes, box) -> bytes:
    """The face with a margin, upright, as a small JPEG (the picture the report shows)."""
    rgb = recognizer.decode(data).rgb
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = box
    mx, my = (x1 - x0) * CROP_MARGIN, (y1 - y0) * CROP_MARGIN
    x0, y0 = max(0, int(x0 - mx)), max(0, int(y0 - my))
    x1, y1 = min(w, int(x1 + mx) + 1), min(h, int(y1 + my) + 1)
    return encode_jpeg(fit(rgb[y0:y1, x0:x1], CROP_MAX_SIDE), 90)


EXTENSIONS = {"jpeg": "jpg", "jpg": "jpg", "png": "png"}


def _ext(fmt: str | None) -> str:
    return EXTENSIONS.get((fmt or "").lower(), "bin")


def _checklists(conn, exam_id: int) -> dict[int, list[dict]]:
    labels = dict(FEATURES)
    checks: dict[int, list[dict]] = {}
    for rank, feature, verdict, note in conn.execute(
        "SELECT rank, feature, verdict, note FROM checklists WHERE exam_id = ? ORDER BY rank", (exam_id,)
    ):
        checks.setdefault(rank, []).append({"feature": labels.get(feature, feature), "verdict": verdict, "note": note})
    return checks


def _gallery_images(conn, search_id: int | None) -> dict[int, tuple]:
    """rank -> (image bytes, format, sha256, face index) of the gallery image each candidate was found by."""
    rows = conn.execute(
        "SELECT c.rank, f.image, f.format, f.sha256, f.face_index FROM candidates c"
        " JOIN face_images f ON f.id = c.image_id WHERE c.search_id = ?",
        (search_id,),
    )
    return {rank: (bytes(image), fmt, sha, face_index) for rank, image, fmt, sha, face_index in rows}


def _add_candidate(wf, out: Facts, row: dict, lead_rank: int | None, checklist: list[dict], image_row) -> None:
    image, fmt, sha, face_index = image_row or (None, None, None, None)
    rank = row["rank"]
    row.update(checklist=checklist, image_sha256=sha, lead=rank == lead_rank, image=None)
    if image is not None:
        row["image"] = f"images/candidate-{rank:02d}.{_ext(fmt)}"
        out.candidate_images[rank] = (row["image"], image)
        if rank == lead_rank:
            faces = wf.analyses.analysis(image, sha or hashlib.sha256(image).hexdigest()).faces
            face = faces[face_index] if face_index is not None and face_index < len(faces) else faces[0]
            out.images["images/lead-face.jpg"] = face_crop(wf.gallery.recognizer, image, face.box)
    out.candidates.append(row)


def gather(wf, exam: Examination) -> Facts:
    recognizer = wf.gallery.recognizer
    with wf.store.connection() as conn:
        rows = _rows(conn, exam) if exam.search_id else []
        facts = search_facts(conn, exam) if exam.search_id else None
        extra = conn.execute(
            "SELECT face_box, quality, probe_format FROM searches WHERE id = ?", (exam.search_id,)
        ).fetchone() if exam.search_id else None  # fmt: skip
        search_seq = conn.execute("SELECT seq FROM audit_log WHERE action = 'search' AND object = ?",
                                  (f"search:{exam.search_id}",)).fetchone()  # fmt: skip
        policy = policy_at(conn, wf, search_seq[0] if search_seq else 2**62)
        checks = _checklists(conn, exam.id)
        gallery_rows = _gallery_images(conn, exam.search_id)
        examiner = _user(conn, exam.examiner_id)
        review = review_of(conn, exam.id)
        reviewer_id = exam.reviewer_id
        released = conn.execute(
            "SELECT u.username, u.display_name, r.released_at, r.audit_seq FROM reports r"
            " JOIN users u ON u.id = r.released_by WHERE r.exam_id = ?",
            (exam.id,),
        ).fetchone()
        events = timeline(conn, exam)
        objects = [f"exam:{exam.id}"] + ([f"search:{exam.search_id}"] if exam.search_id else [])
        entries, checkpoints, own = audit_proof(conn, objects)
        try:
            original = image_bytes(conn, exam.id, "original")
            searched = image_bytes(conn, exam.id, "searched") if exam.search_id else None
            erased = None
        except ErasedError as exc:
            original = searched = None
            erased = str(exc)
        reviewer = _user(conn, reviewer_id)
    for entry in entries:
        entry["in_examination"] = entry["seq"] in own
    out = Facts(record={}, candidates=[], evaluations=evaluate.load(wf.store), audit_entries=entries,
                checkpoints=checkpoints, erased=erased)  # fmt: skip
    if original is not None:
        out.images[f"images/probe-original.{_ext(exam.probe_format)}"] = original
        if searched is not None and exam.searched_sha256 != exam.probe_sha256:
            out.images["images/probe-searched.png"] = searched
        if searched is not None and extra:
            out.images["images/probe-face.jpg"] = face_crop(recognizer, searched, json.loads(extra[0]))
    for row in rows:
        _add_candidate(wf, out, row, exam.lead_rank, checks.get(row["rank"], []), gallery_rows.get(row["rank"]))
    search = dict(facts) if facts else None
    if search is not None and extra:
        search["face_box"] = json.loads(extra[0])
        search["probe_quality"] = json.loads(extra[1])
    if reviewer is not None and review is not None:
        review = review | {"training_valid_until": reviewer["training_valid_until"]}
    out.record = {
        "statement": STATEMENT,
        "examination": exam.to_dict(),
        "examiner": examiner,
        "review": review,
        "search": search,
        "model_id": search["model_id"] if search else None,
        "policy_at_search": policy,
        "edits": edits(wf, exam.id),
        "released": dict(zip(("by", "by_name", "at", "audit_seq"), released, strict=True)) if released else None,
        "timeline": events,
        "images_erased": erased,
    }
    return out
