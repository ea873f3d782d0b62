"""Step 4: tier-1 corroboration and tier-2 blind peer review.

Rules here:
* the examiner puts exactly one candidate forward as a possible lead, with tier-1 corroboration
  notes (is the candidate plausible: location, dates, descriptors); with no possible lead the
  examination closes with a reason instead, and nothing is released;
* the peer reviewer holds the reviewer role and current training and is never the examiner;
* the review is blind: the reviewer sees the probe and the candidates but neither the examiner's
  dispositions, checklists nor notes, and names the candidate they see as a possible lead (or
  none) with a reason. Concur when it is the examiner's candidate, dissent otherwise. Only then
  is the examiner's conclusion shown.
"""

from __future__ import annotations

from device.audit import Draft
from device.errors import NotAllowedError, StepError, UsageError
from device.workflow.analysis import candidates
from device.workflow.cases import EXAM_SELECT, Examination, get, owned
from device.workflow.users import User, require_role, require_trained, utc


def submit(wf, user: User, exam_id: int, corroboration: str) -> Examination:
    require_trained(user, wf.today())
    corroboration = (corroboration or "").strip()
    if not corroboration:
        raise UsageError("tier-1 corroboration notes are required before peer review")
    with wf.store.connection() as conn, wf.store.transaction(conn):
        exam = owned(conn, user, exam_id, "analysis")
        sql = "SELECT rank FROM dispositions WHERE exam_id = ? AND disposition = 'possible-lead'"
        leads = [r[0] for r in conn.execute(sql, (exam_id,))]
        if len(leads) != 1:
            raise UsageError(
                f"exactly one candidate must be a possible lead to ask for peer review ({len(leads)} now); "
                "with none, close the examination without a lead"
            )
        conn.execute("UPDATE examinations SET status = 'review', corroboration = ?, lead_rank = ?, updated_at = ?"
                     " WHERE id = ?", (corroboration[:4000], leads[0], utc(wf.now()), exam_id))  # fmt: skip
        wf.audit.append_in(conn, [Draft("exam.submit_review", user.username, "examiner", f"exam:{exam_id}",
                                        exam.case_id, details={"lead_rank": leads[0]})])  # fmt: skip
        return get(conn, exam_id)


def close_without_lead(wf, user: User, exam_id: int, reason: str) -> Examination:
    """Step 3 ends with no possible lead, or step 4 ends after a dissent: what follows a dissent is a
    recorded closure (by the examiner or a supervisor), never a release; a new look at the probe is
    a new examination, which keeps this one and its dissent on the record."""
    reason = (reason or "").strip()
    if not reason:
        raise UsageError("closing without a lead needs a reason, which is recorded")
    with wf.store.connection() as conn, wf.store.transaction(conn):
        exam = get(conn, exam_id)
        if exam.status == "dissented" and user.has("supervisor") and exam.examiner_id != user.id:
            role = "supervisor"
        else:
            exam, role = owned(conn, user, exam_id, "analysis", "dissented"), "examiner"
        if exam.status == "analysis":
            sql = "SELECT count(*) FROM dispositions WHERE exam_id = ? AND disposition = 'possible-lead'"
            leads = conn.execute(sql, (exam_id,)).fetchone()[0]
            if leads:
                raise UsageError("a candidate is marked as a possible lead: ask for peer review, or change it first")
        conn.execute("UPDATE examinations SET status = 'closed', corroboration = coalesce(corroboration, ?),"
                     " updated_at = ? WHERE id = ?", (reason[:4000], utc(wf.now()), exam_id))  # fmt: skip
        details = {"reason": reason[:200], "after": "dissent" if exam.status == "dissented" else "analysis"}
        wf.audit.append_in(conn, [Draft("exam.close", user.username, role, f"exam:{exam_id}", exam.case_id,
                                        details=details)])  # fmt: skip
        return get(conn, exam_id)


def _check_reviewer(user: User, exam: Examination) -> None:
    require_role(user, "reviewer")
    if exam.examiner_id == user.id:
        raise NotAllowedError("the examiner of a case can never verify it: another trained reviewer must")


def queue(wf, user: User) -> list[Examination]:
    """Examinations awaiting review by someone other than their examiner."""
    require_role(user, "reviewer")
    with wf.store.connection() as conn:
        rows = conn.execute(EXAM_SELECT + " WHERE e.status = 'review' AND e.examiner_id != ? ORDER BY e.updated_at",
                            (user.id,)).fetchall()  # fmt: skip
    return [Examination(*row) for row in rows]


def blind_view(wf, user: User, exam_id: int) -> dict:
    """What the reviewer sees before deciding: under a blind-review policy (the default) no
    disposition, checklist or notes of the examiner; otherwise the examiner's dispositions too."""
    with wf.store.connection() as conn:
        exam = get(conn, exam_id)
    _check_reviewer(user, exam)
    if exam.status != "review":
        raise StepError(f"case examination {exam_id} is not awaiting peer review")
    blind = wf.policy().blind_review
    facts, rows = candidates(wf, user, exam_id, blind=blind)
    return {
        "blind": blind,
        "id": exam.id, "case_id": exam.case_id, "offense": exam.offense, "purpose": exam.purpose,
        "searched_sha256": exam.searched_sha256, "probe_sha256": exam.probe_sha256,
        "search": facts, "candidates": rows,
    }  # fmt: skip


def submit_review(wf, user: User, exam_id: int, chosen_rank: int | None, reason: str) -> Examination:
    require_trained(user, wf.today())
    reason = (reason or "").strip()
    if not reason:
        raise UsageError("a peer review needs its reasons, which are recorded")
    with wf.store.connection() as conn, wf.store.transaction(conn):
        exam = get(conn, exam_id)
        _check_reviewer(user, exam)
        if exam.status != "review":
            raise StepError(f"case examination {exam_id} is not awaiting peer review (already reviewed?)")
        if (
            chosen_rank is not None
            and not conn.execute(
                "SELECT 1 FROM candidates WHERE search_id = ? AND rank = ?", (exam.search_id, chosen_rank)
            ).fetchone()
        ):
            raise UsageError(f"no candidate {chosen_rank} in this examination")
        verdict = "concur" if chosen_rank == exam.lead_rank else "dissent"
        conn.execute("INSERT INTO reviews(exam_id, reviewer_id, chosen_rank, verdict, reason, at)"
                     " VALUES (?, ?, ?, ?, ?, ?)",
                     (exam_id, user.id, chosen_rank, verdict, reason[:4000], utc(wf.now())))  # fmt: skip
        status = "concurred" if verdict == "concur" else "dissented"
        conn.execute("UPDATE examinations SET status = ?, updated_at = ? WHERE id = ?",
                     (status, utc(wf.now()), exam_id))  # fmt: skip
        details = {"verdict": verdict, "chosen_rank": chosen_rank, "lead_rank": exam.lead_rank,
                   "reason": reason[:200]}  # fmt: skip
        wf.audit.append_in(conn, [Draft("exam.review", user.username, "reviewer", f"exam:{exam_id}", exam.case_id,
                                        outcome="ok", details=details)])  # fmt: skip
        return get(conn, exam_id)


def review_of(conn, exam_id: int) -> dict | None:
    row = conn.execute(
        "SELECT u.username, u.display_name, r.chosen_rank, r.verdict, r.reason, r.at FROM reviews r"
        " JOIN users u ON u.id = r.reviewer_id WHERE r.exam_id = ?",
        (exam_id,),
    ).fetchone()
    keys = ("reviewer", "reviewer_name", "chosen_rank", "verdict", "reason", "at")
    return dict(zip(keys, row, strict=True)) if row else None
