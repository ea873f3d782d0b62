"""Step 5: the lead report, released only after a peer reviewer concurred.

The report states what a lead is and is not, and lists what a court or a defence would ask for:
case, offence, purpose, the original probe's hash, every edit, the searched image's hash, the
search (gallery version, model, time), the candidate with its score and meaning, the examiner's
checklist and reasons, tier-1 notes, the peer reviewer's verdict, both people, and the timeline
with the audit sequence numbers that prove it.
"""

from __future__ import annotations

from device.audit import Draft
from device.errors import NotAllowedError, StepError
from device.workflow import stills
from device.workflow.analysis import FEATURES, _rows, search_facts
from device.workflow.cases import get, may_view
from device.workflow.enhance import edits
from device.workflow.review import review_of
from device.workflow.users import User, utc

STATEMENT = (
    "INVESTIGATIVE LEAD ONLY. This is not a positive identification and is not probable cause. "
    "It must be corroborated by independent investigation before any action is taken."
)


def may_release(policy, user: User, exam) -> bool:
    """The release rule, stated once: a supervisor always (never on their own examination); the
    examiner too only where the agency's policy ``release_by`` is ``examiner``."""
    if user.has("supervisor") and exam.examiner_id != user.id:
        return True
    return policy.release_by == "examiner" and exam.examiner_id == user.id


def release(wf, user: User, exam_id: int):
    with wf.store.connection() as conn, wf.store.transaction(conn):
        exam = get(conn, exam_id)
        if not may_release(wf.policy(), user, exam):
            if wf.policy().release_by == "supervisor":
                raise NotAllowedError("under this unit's policy a supervisor releases lead reports"
                                      " (never on an examination of their own)")  # fmt: skip
            raise NotAllowedError("only the examiner of this examination or a supervisor releases its lead report")
        if exam.status != "concurred":
            raise StepError(_not_releasable(exam.status))
        role = "supervisor" if user.has("supervisor") and exam.examiner_id != user.id else "examiner"
        [entry] = wf.audit.append_in(conn, [Draft("exam.release", user.username, role, f"exam:{exam_id}",
                                                  exam.case_id, details={"lead_rank": exam.lead_rank})])  # fmt: skip
        conn.execute("INSERT INTO reports(exam_id, released_by, released_at, audit_seq) VALUES (?, ?, ?, ?)",
                     (exam_id, user.id, utc(wf.now()), entry.seq))  # fmt: skip
        conn.execute("UPDATE examinations SET status = 'released', updated_at = ? WHERE id = ?",
                     (utc(wf.now()), exam_id))  # fmt: skip
        return get(conn, exam_id)


def _not_releasable(status: str) -> str:
    """Why a release is refused, in the words of where the examination stands."""
    return {
        "released": "this lead report was already released: open it from the case",
        "dissented": "the peer reviewer dissented: no lead report can be released for this examination",
        "closed": "this examination was closed without a lead: there is nothing to release",
        "review": "the examination awaits peer review: a lead report is released only after a reviewer concurred",
    }.get(status, "a lead report is released only after a peer reviewer concurred")


def timeline(conn, exam) -> list[dict]:
    objects = [f"exam:{exam.id}"] + ([f"search:{exam.search_id}"] if exam.search_id else [])
    rows = conn.execute(
        "SELECT seq, at, actor, role, action, outcome FROM audit_log WHERE object IN (?, ?) ORDER BY seq",
        (objects[0], objects[-1]),
    ).fetchall()
    return [dict(zip(("seq", "at", "actor", "role", "action", "outcome"), r, strict=True)) for r in rows]


def build(wf, user: User, exam_id: int) -> dict:
    with wf.store.connection() as conn:
        exam = get(conn, exam_id)
        if not may_view(user, exam):
            raise NotAllowedError(f"case examination {exam_id} belongs to another user: refused")
        if exam.status != "released":
            raise StepError("there is no lead report: it is released only after a peer reviewer concurred")
        rows = {r["rank"]: r for r in _rows(conn, exam)}
        lead = rows[exam.lead_rank]
        checks = conn.execute("SELECT feature, verdict, note FROM checklists WHERE exam_id = ? AND rank = ?",
                              (exam_id, exam.lead_rank)).fetchall()  # fmt: skip
        released = conn.execute(
            "SELECT u.username, u.display_name, r.released_at, r.audit_seq FROM reports r"
            " JOIN users u ON u.id = r.released_by WHERE r.exam_id = ?",
            (exam_id,),
        ).fetchone()
        examiner_name = conn.execute("SELECT display_name FROM users WHERE id = ?", (exam.examiner_id,)).fetchone()[0]
        facts = search_facts(conn, exam)
        review = review_of(conn, exam_id)
        events = timeline(conn, exam)
        combined = stills.disclosure(conn, exam_id)
    labels = dict(FEATURES)
    order = {key: i for i, (key, _) in enumerate(FEATURES)}
    checks = sorted(checks, key=lambda c: order.get(c[0], len(order)))
    return {
        "statement": STATEMENT,
        "exam": exam.to_dict(),
        "examiner": {"username": exam.examiner, "name": examiner_name},
        "reviewer": review,
        "search": facts,
        "edits": edits(wf, exam_id),
        "combined": combined,  # None: the probe was one still; else how its stills were combined
        "candidate": lead,
        "checklist": [{"feature": labels.get(f, f), "verdict": v, "note": n} for f, v, n in checks],
        "released": dict(zip(("by", "by_name", "at", "audit_seq"), released, strict=True)),
        "timeline": events,
    }
