"""Step 1 and the examination record: who may see it, a new search's reason and probe, the face.

Rules here:
* starting needs the examiner role and current training, a case number, an allowed offence
  category and a purpose (the gallery's ``check_request``, the one place that states them), and
  a probe in which a face is found: nothing is written for a probe that fails to decode;
* an examination is seen only by its examiner, supervisors and auditors (read-only), and by its
  peer reviewer once the review is recorded; everyone else is refused, whatever id they type;
* a probe whose chosen face fails the quality assessment is searched only after a supervisor
  records an override with a reason (the gallery refuses it otherwise).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from device.audit import Draft
from device.errors import ErasedError, ImageError, NoFaceError, NotAllowedError, NotFoundError, StepError, UsageError
from device.gallery import records
from device.gallery.search import SearchRequest, check_request
from device.workflow.probe import chosen_face
from device.workflow.users import User, require_role, require_trained, utc

STEP_OF_STATUS = {"open": 1, "analysis": 3, "review": 4, "concurred": 5, "dissented": 4, "released": 5, "closed": 3}
# Where an examination stands, in words, for a refusal of an action that belongs to another step.
WHERE_IT_STANDS = {
    "open": "has not been searched yet",
    "analysis": "is at step 3, facial analysis",
    "review": "awaits peer review",
    "concurred": "was concurred with by the peer reviewer and awaits the release of its lead report",
    "dissented": "ended in a dissent by the peer reviewer",
    "released": "has a released lead report, which is final",
    "closed": "was closed without a lead",
}
EXAM_COLUMNS = (
    "e.id, e.case_id, e.offense, e.purpose, e.examiner_id, u.username, e.status, e.probe_sha256, e.probe_format,"
    " e.working_sha256, e.face_index, e.quality_override, e.override_by, e.search_id, e.searched_sha256,"
    " e.corroboration, e.lead_rank, e.created_at, e.updated_at, e.images_erased_at,"
    " (SELECT reviewer_id FROM reviews r WHERE r.exam_id = e.id)"
)
MINE = " WHERE e.examiner_id = ? OR e.id IN (SELECT exam_id FROM reviews WHERE reviewer_id = ?) ORDER BY e.id DESC"
EXAM_SELECT = f"SELECT {EXAM_COLUMNS} FROM examinations e JOIN users u ON u.id = e.examiner_id"  # noqa: S608


@dataclass(frozen=True)
class Examination:
    id: int
    case_id: str
    offense: str
    purpose: str
    examiner_id: int
    examiner: str
    status: str
    probe_sha256: str
    probe_format: str
    working_sha256: str | None
    face_index: int | None
    quality_override: str | None
    override_by: int | None
    search_id: int | None
    searched_sha256: str | None
    corroboration: str | None
    lead_rank: int | None
    created_at: str
    updated_at: str
    images_erased_at: str | None
    reviewer_id: int | None

    @property
    def step(self) -> int:
        if self.status == "open":
            return 1 if self.face_index is None else 2
        return STEP_OF_STATUS[self.status]

    @property
    def current_sha256(self) -> str:
        return self.working_sha256 or self.probe_sha256

    @property
    def images_held(self) -> bool:
        return self.images_erased_at is None

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "override_by"} | {"step": self.step}


def get(conn, exam_id: int) -> Examination:
    row = conn.execute(EXAM_SELECT + " WHERE e.id = ?", (exam_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"no case examination {exam_id} on this unit")
    return Examination(*row)


def may_view(user: User, exam: Examination) -> bool:
    return (
        exam.examiner_id == user.id
        or user.has("supervisor", "auditor")
        or (exam.reviewer_id == user.id and user.has("reviewer"))
    )


def may_see_images(user: User, exam: Examination) -> bool:
    """Viewers, plus a reviewer (never the examiner) while the examination awaits review."""
    awaiting = exam.status == "review" and user.has("reviewer") and exam.examiner_id != user.id
    return may_view(user, exam) or awaiting


def load_for(wf, user: User, exam_id: int) -> Examination:
    with wf.store.connection() as conn:
        exam = get(conn, exam_id)
    if not may_view(user, exam):
        raise NotAllowedError(f"case examination {exam_id} belongs to another user: refused")
    return exam


def owned(conn, user: User, exam_id: int, *statuses: str) -> Examination:
    """The examination, if ``user`` is its examiner and it is at one of ``statuses`` (else refused)."""
    exam = get(conn, exam_id)
    if exam.examiner_id != user.id:
        raise NotAllowedError(f"only the examiner of case examination {exam_id} may do this")
    if statuses and exam.status not in statuses:
        raise StepError(f"case examination {exam_id} {WHERE_IT_STANDS.get(exam.status, 'is past this step')}:"
                        " this step is over")  # fmt: skip
    return exam


def list_for(wf, user: User) -> list[Examination]:
    with wf.store.connection() as conn:
        if user.has("supervisor", "auditor"):
            rows = conn.execute(EXAM_SELECT + " ORDER BY e.id DESC LIMIT 500").fetchall()
        else:
            rows = conn.execute(
                EXAM_SELECT + MINE,
                (user.id, user.id),
            ).fetchall()
    return [Examination(*row) for row in rows]


def image_bytes(conn, exam_id: int, which: str) -> bytes:
    """``original``, ``working`` (what the next search would use) or ``searched`` (the working image
    once searched: edits stop at the search, so it is the bytes whose hash ``searched_sha256`` is).
    ErasedError once retention erased them."""
    row = conn.execute(
        "SELECT probe_image, working_image, images_erased_at, search_id FROM examinations WHERE id = ?", (exam_id,)
    ).fetchone()
    if row is None:
        raise NotFoundError(f"no case examination {exam_id} on this unit")
    original, working, erased_at, search_id = row
    if erased_at is not None:
        raise ErasedError(f"the images of case examination {exam_id} were erased under the retention policy"
                          f" on {erased_at[:10]}")  # fmt: skip
    if which == "original":
        return bytes(original)
    if which == "searched" and search_id is None:
        raise StepError("this examination has not been searched yet")
    return bytes(working if working is not None else original)


def analysis_of(wf, data: bytes, sha: str | None = None):
    """The analysis of an image (cached by hash, owned by the workflow), judged by the policy."""
    sha = sha or hashlib.sha256(data).hexdigest()
    return wf.policy().judged(wf.analyses.analysis(data, sha))


def analyze_working(wf, exam: Examination):
    with wf.store.connection() as conn:
        data = image_bytes(conn, exam.id, "working")
    return analysis_of(wf, data, exam.current_sha256)


def start(wf, user: User, case: str, offense: str, purpose: str, probe: bytes, source: str = "import",
          burst: dict | None = None) -> Examination:  # fmt: skip
    """``source``: ``import`` for a file, else the camera that took the still (said in the audit);
    ``burst``: the best-shot burst it was kept from (device/camera/burst.py ``Burst.summary``)."""
    require_role(user, "examiner")
    require_trained(user, wf.today())
    req = check_request(SearchRequest(case, offense, purpose, wf.config.gallery.default_gallery), wf.policy())
    if not probe:
        refuse_probe(wf, user, req.case, "empty", 0, source)
        raise UsageError("a probe image is required: take a photo or import a JPEG/PNG file")
    sha = hashlib.sha256(probe).hexdigest()
    try:
        analysis = analysis_of(wf, probe, sha)  # ImageError / NoFaceError before anything is written
    except (ImageError, NoFaceError) as exc:
        refuse_probe(wf, user, req.case, "no face" if isinstance(exc, NoFaceError) else "not an image", len(probe),
                     source, sha)  # fmt: skip
        raise
    now = utc(wf.now())
    face = 0 if len(analysis.faces) == 1 else None
    with wf.store.connection() as conn, wf.store.transaction(conn):
        conn.execute("INSERT OR IGNORE INTO cases(case_id, created_at, created_by) VALUES (?, ?, ?)",
                     (req.case, now, user.username))  # fmt: skip
        exam_id = conn.execute(
            "INSERT INTO examinations(case_id, offense, purpose, examiner_id, probe_image, probe_sha256, probe_format,"
            " face_index, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (req.case, req.offense, req.purpose, user.id, probe, sha, analysis.format, face, now, now),
        ).lastrowid
        details = {"offense": req.offense, "purpose": req.purpose[:200], "probe_sha256": sha,
                   "faces": len(analysis.faces), "probe_source": source[:100]}  # fmt: skip
        if burst is not None:
            details["burst"] = burst
        (entry,) = wf.audit.append_in(conn, [Draft("exam.start", user.username, "examiner", f"exam:{exam_id}",
                                                   req.case, details=details)])  # fmt: skip
        conn.execute("UPDATE examinations SET audit_seq = ? WHERE id = ?", (entry.seq, exam_id))  # audit verify
        return get(conn, exam_id)


def refuse_probe(
    wf, user: User, case: str | None, reason: str, size: int, source: str = "import", sha: str | None = None
) -> None:
    """A refused probe (empty, not an image, no face, too large) is recorded: who tried what, when;
    its hash and size, never its pixels. Nothing else is written."""
    details = {"reason": reason, "bytes": size, "probe_source": source[:100]} | ({"probe_sha256": sha} if sha else {})
    wf.audit.record("exam.probe_refused", actor=user.username, role=user.acting_as("examiner"), case=case,
                    outcome="denied", details=details)  # fmt: skip


def choose_face(wf, user: User, exam_id: int, face_index: int) -> Examination:
    with wf.store.connection() as conn:
        exam = owned(conn, user, exam_id, "open")
    analysis = analyze_working(wf, exam)
    face_index = chosen_face(analysis, face_index)
    with wf.store.connection() as conn, wf.store.transaction(conn):
        owned(conn, user, exam_id, "open")
        conn.execute("UPDATE examinations SET face_index = ?, updated_at = ? WHERE id = ?",
                     (face_index, utc(wf.now()), exam_id))  # fmt: skip
        verdict = analysis.faces[face_index].quality.verdict
        wf.audit.append_in(conn, [Draft("exam.face", user.username, "examiner", f"exam:{exam_id}", exam.case_id,
                                        details={"face_index": face_index, "quality": verdict})])  # fmt: skip
        return get(conn, exam_id)


def awaiting_override(wf, user: User) -> list[int]:
    """Examinations waiting for a supervisor's quality override: open, not overridden, and their
    current image's search refused for quality (the refusal's audit entry names its hash)."""
    if not user.has("supervisor"):
        return []
    with wf.store.connection() as conn:
        rows = conn.execute(
            "SELECT e.id FROM examinations e WHERE e.status = 'open' AND e.quality_override IS NULL"
            " AND e.examiner_id != ? AND EXISTS (SELECT 1 FROM audit_log a WHERE a.action = 'search.refused'"
            " AND a.case_id = e.case_id"
            " AND json_extract(a.body, '$.details.probe_sha256') = coalesce(e.working_sha256, e.probe_sha256))"
            " ORDER BY e.id",
            (user.id,),
        ).fetchall()
    return [r[0] for r in rows]


def override_quality(wf, user: User, exam_id: int, reason: str) -> Examination:
    require_role(user, "supervisor")
    reason = (reason or "").strip()
    if not reason:
        raise UsageError("a quality override needs a reason, which is recorded")
    with wf.store.connection() as conn, wf.store.transaction(conn):
        exam = get(conn, exam_id)
        if exam.status != "open":
            raise StepError("the probe was already searched: an override is only possible before the search")
        if exam.examiner_id == user.id:
            raise NotAllowedError("a supervisor cannot override the quality check on their own search")
        conn.execute("UPDATE examinations SET quality_override = ?, override_by = ?, updated_at = ? WHERE id = ?",
                     (reason[:500], user.id, utc(wf.now()), exam_id))  # fmt: skip
        wf.audit.append_in(conn, [Draft("exam.quality_override", user.username, "supervisor", f"exam:{exam_id}",
                                        exam.case_id, details={"reason": reason[:200]})])  # fmt: skip
        return get(conn, exam_id)


def image_for(wf, user: User, exam_id: int, which: str) -> bytes:
    """An examination's image for display, to whoever may see it (the blind reviewer included)."""
    with wf.store.connection() as conn:
        exam = get(conn, exam_id)
        if not may_see_images(user, exam):
            raise NotAllowedError(f"case examination {exam_id} belongs to another user: refused")
        if which not in ("original", "working", "searched"):
            raise UsageError("which image: original, working or searched")
        return image_bytes(conn, exam_id, which)


def candidate_image_for(wf, user: User, exam_id: int, rank: int) -> bytes | None:
    """The gallery image a candidate was found by; None once the subject was erased."""
    with wf.store.connection() as conn:
        exam = get(conn, exam_id)
        if not may_see_images(user, exam):
            raise NotAllowedError(f"case examination {exam_id} belongs to another user: refused")
        return records.candidate_image(conn, exam.search_id, rank)
