"""What the unit holds on each case, for auditors: ``fieldface cases list|show [--json]``.

A case's examinations with their examiner, step and status, the search (gallery version, model,
line), its candidates by id (subject reference or id, score, the examiner's disposition), the peer
review, and which images are still held or were erased under retention, and when. Names of gallery
subjects are not listed: an auditor checks what was done, by reference.
"""

from __future__ import annotations

from device.errors import UsageError
from device.workflow.cases import EXAM_SELECT, Examination
from device.workflow.stills import rows as still_rows


def case_list(wf) -> list[dict]:
    with wf.store.connection() as conn:
        rows = conn.execute(
            "SELECT c.case_id, c.created_at, c.created_by, c.legal_hold,"
            " (SELECT count(*) FROM examinations e WHERE e.case_id = c.case_id),"
            " (SELECT count(*) FROM examinations e WHERE e.case_id = c.case_id AND e.probe_image IS NOT NULL),"
            " (SELECT count(*) FROM searches s WHERE s.case_id = c.case_id)"
            " FROM cases c ORDER BY c.created_at DESC, c.case_id"
        ).fetchall()
    keys = ("case", "created_at", "created_by", "legal_hold", "examinations", "images_held", "searches")
    return [dict(zip(keys, row, strict=True)) | {"legal_hold": bool(row[3]), "example": _example(wf, row[0])}
            for row in rows]  # fmt: skip


def _example(wf, case_id: str) -> bool:
    from device.demo import is_example  # the demo's example case is marked wherever it is listed

    return is_example(case_id, wf.audit.device_id)


def case_detail(wf, case_id: str) -> dict:
    with wf.store.connection() as conn:
        case = conn.execute("SELECT case_id, created_at, created_by, legal_hold FROM cases WHERE case_id = ?",
                            (case_id,)).fetchone()  # fmt: skip
        if case is None:
            raise UsageError(f"no case {case_id!r} on this unit")
        exams = [Examination(*row) for row in conn.execute(EXAM_SELECT + " WHERE e.case_id = ? ORDER BY e.id",
                                                              (case_id,))]  # fmt: skip
        out = [_exam(conn, exam) for exam in exams]
    return {"case": case[0], "created_at": case[1], "created_by": case[2], "legal_hold": bool(case[3]),
            "example": _example(wf, case[0]), "examinations": out}  # fmt: skip


def _exam(conn, exam: Examination) -> dict:
    held = exam.images_erased_at is None
    body = {
        "examination": exam.id, "examiner": exam.examiner, "step": exam.step, "status": exam.status,
        "offense": exam.offense, "created_at": exam.created_at, "probe_sha256": exam.probe_sha256,
        "searched_sha256": exam.searched_sha256,
        "images": {"original": "held" if held else "erased",
                   "working": ("held" if held else "erased") if exam.working_sha256 else "none",
                   "erased_at": exam.images_erased_at},
        "stills": [{"position": r["position"], "sha256": r["sha256"], "quality": r["quality"],
                    "image": "held" if r["held"] else "erased"} for r in still_rows(conn, exam.id)],
        "search": None, "candidates": [], "review": None,
    }  # fmt: skip
    if exam.search_id is not None:
        row = conn.execute(
            "SELECT s.id, g.name, s.gallery_version, s.model_id, s.worth_examining, s.top_k, s.finished_at"
            " FROM searches s JOIN galleries g ON g.id = s.gallery_id WHERE s.id = ?",
            (exam.search_id,),
        ).fetchone()
        keys = ("id", "gallery", "gallery_version", "model_id", "worth_examining", "top_k", "at")
        body["search"] = dict(zip(keys, row, strict=True))
        body["candidates"] = [
            {"rank": rank, "subject": ref or subject_id, "score": round(score, 4), "disposition": disp}
            for rank, subject_id, ref, score, disp in conn.execute(
                "SELECT c.rank, c.subject_id, s.reference, c.score, d.disposition FROM candidates c"
                " LEFT JOIN subjects s ON s.id = c.subject_id"
                " LEFT JOIN dispositions d ON d.exam_id = ? AND d.rank = c.rank WHERE c.search_id = ? ORDER BY c.rank",
                (exam.id, exam.search_id),
            )
        ]
    review = conn.execute(
        "SELECT u.username, r.verdict, r.chosen_rank, r.at FROM reviews r JOIN users u ON u.id = r.reviewer_id"
        " WHERE r.exam_id = ?",
        (exam.id,),
    ).fetchone()
    if review:
        body["review"] = dict(zip(("reviewer", "verdict", "chosen_rank", "at"), review, strict=True))
    return body
