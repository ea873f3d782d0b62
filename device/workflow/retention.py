"""Retention over every copy of a face the unit holds, and nothing else.

``purge`` (``fieldface purge``, daily by the systemd timer) erases, as of the UTC date of the
workflow's clock:
* gallery subjects past their retain-until date (device/gallery/erasure.py: images, embeddings,
  index entries; one audited transaction each);
* probe images past ``search.probe_retain_days`` (the policy in force): an examination's original
  and enhanced images (the only copies: searches keep none) and any image an older search row
  still holds; and the workflow's cached analyses (face crops) of those images.
Cases on legal hold keep theirs. The examination itself stays readable: hashes, edits, search,
candidates, dispositions, review and audit entries, with ``images_erased_at`` saying when; its
image routes then answer 410. The erased rows are overwritten in place (``secure_delete``) and the
WAL is checkpointed and truncated, so no page of the database or its WAL keeps the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from device.audit import Draft
from device.gallery.erasure import delete_subject, erase_search_probes, search_probes_due, subjects_due
from device.workflow.users import utc


@dataclass
class PurgeReport:
    subjects: list[int] = field(default_factory=list)
    probes: list[int] = field(default_factory=list)  # searches whose own probe image was erased
    examinations: list[int] = field(default_factory=list)  # examinations whose images were erased
    held: list[int] = field(default_factory=list)  # searches kept because their case is on hold
    held_examinations: list[int] = field(default_factory=list)
    before: str = ""
    dry_run: bool = False

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def _exams_due(conn, cutoff: str) -> tuple[list[tuple[int, str, str | None]], list[int]]:
    rows = conn.execute(
        "SELECT e.id, e.probe_sha256, e.working_sha256, c.legal_hold FROM examinations e"
        " JOIN cases c ON c.case_id = e.case_id"
        " WHERE e.probe_image IS NOT NULL AND substr(e.created_at, 1, 10) < ? ORDER BY e.id",
        (cutoff,),
    ).fetchall()
    return [(i, p, w) for i, p, w, hold in rows if not hold], [i for i, _p, _w, hold in rows if hold]


def purge(wf, actor, dry_run: bool = False) -> PurgeReport:
    today = wf.today()
    # A probe taken on day D is kept through D + probe_retain_days (as a search's retain-until).
    cutoff = (today - timedelta(days=wf.policy().probe_retain_days)).isoformat()
    report = PurgeReport(before=today.isoformat(), dry_run=dry_run)
    with wf.store.connection() as conn:
        report.subjects = subjects_due(conn, today)
        report.probes, report.held = search_probes_due(conn, today)
        exams, report.held_examinations = _exams_due(conn, cutoff)
    report.examinations = [i for i, _p, _w in exams]
    if dry_run:
        return report
    for subject_id in report.subjects:
        delete_subject(wf.gallery, subject_id, actor, f"retention: retain-until before {today}", "purge.subject")
    if not (report.probes or report.examinations or report.held or report.held_examinations):
        return report
    with wf.store.connection() as conn:
        with wf.store.transaction(conn):
            now = utc(wf.now())
            erase_search_probes(conn, report.probes, now)
            conn.executemany(
                "UPDATE examinations SET probe_image = NULL, working_image = NULL, images_erased_at = ?"
                " WHERE id = ? AND probe_image IS NOT NULL",
                [(now, exam_id) for exam_id in report.examinations],
            )
            # Stills added to a probe (device/workflow/stills.py) go with the examination's images.
            still_shas = conn.execute(
                f"SELECT sha256 FROM examination_stills WHERE image IS NOT NULL AND exam_id IN"  # noqa: S608
                f" ({','.join('?' * len(report.examinations))})",
                report.examinations,
            ).fetchall() if report.examinations else []  # fmt: skip
            conn.executemany("UPDATE examination_stills SET image = NULL WHERE exam_id = ?",
                             [(exam_id,) for exam_id in report.examinations])  # fmt: skip
            count = len(report.probes) + len(report.examinations)
            details = {"searches": report.probes[:500], "examinations": report.examinations[:500], "count": count,
                       "held": report.held[:500], "held_examinations": report.held_examinations[:500],
                       "before": today.isoformat(), "probe_retain_days_cutoff": cutoff}  # fmt: skip
            wf.audit.append_in(conn, [Draft("purge.probes", actor.name, actor.role, details=details)])
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    wf.analyses.drop(*[sha for _i, p, w in exams for sha in (p, w) if sha], *[sha for (sha,) in still_shas])
    return report
