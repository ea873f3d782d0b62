"""Steps 3 to 5 on the touchscreen: candidates, comparator and checklist, verification, peer
review queue and blind review, release and the printable lead report. Rules: device/workflow."""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for

from device.demo import is_example
from device.disclosure import make_package
from device.errors import ErasedError, StepError, UsageError
from device.workflow.analysis import DISPOSITIONS, FEATURES, VERDICTS
from web.auth import current_user, login_required, roles_required
from web.images import display, face_view, faces_for_screen
from web.services import services

bp = Blueprint("review", __name__)


def wf():
    return services().workflow


# A refused action re-renders its page with the message and a 4xx: no message ever travels in a
# URL (a crafted link could otherwise choose the words in the alert).
@bp.get("/cases/<int:exam_id>/analysis")
@login_required
def analysis(exam_id: int, error=None, status=200):
    user = current_user()
    exam = wf().examination(user, exam_id)
    facts, rows = wf().candidates(user, exam_id)
    return render_template("review/analysis.html", exam=exam, facts=facts, candidates=rows,
                           unredacted_allowed=_unredacted_allowed(user), error=error), status  # fmt: skip


def _unredacted_allowed(user) -> bool:
    return user.has(*wf().policy().disclosure_unredacted_roles)


def _compare(exam_id: int, rank: int, blind: bool, error=None, status=200):
    user = current_user()
    row = wf().candidate(user, exam_id, rank)
    try:
        probe_faces, probe_erased = faces_for_screen(wf().analyze(wf().image(user, exam_id, "searched"))), None
    except ErasedError as exc:  # the record stays readable; the picture is gone
        probe_faces, probe_erased = [], str(exc)
    data = wf().candidate_image(user, exam_id, rank)
    cand_faces = faces_for_screen(wf().analyze(data)) if data else []
    exam = None if blind else wf().examination(user, exam_id)
    saved = {} if blind else wf().checklist(exam_id, rank)
    facts, rows = wf().candidates(user, exam_id, blind=blind)
    mine = None if blind else next(r for r in rows if r["rank"] == rank)
    return render_template("review/compare.html", exam_id=exam_id, exam=exam, row=row, mine=mine, blind=blind,
                           probe_faces=probe_faces, probe_erased=probe_erased, cand_faces=cand_faces, features=FEATURES,
                           verdicts=VERDICTS, dispositions=DISPOSITIONS, saved=saved, facts=facts,
                           form=request.form, error=error), status  # fmt: skip


@bp.get("/cases/<int:exam_id>/candidates/<int:rank>")
@login_required
def compare(exam_id: int, rank: int):
    return _compare(exam_id, rank, blind=request.args.get("blind") == "1")


@bp.post("/cases/<int:exam_id>/candidates/<int:rank>")
@login_required
def record(exam_id: int, rank: int):
    form = request.form
    checklist = {key: form.get(f"v_{key}") for key, _ in FEATURES}
    notes = {key: form.get(f"n_{key}", "") for key, _ in FEATURES}
    try:
        wf().record_analysis(current_user(), exam_id, rank, checklist, notes, form.get("disposition", ""),
                             form.get("reason", ""), form.get("below_line_reason", ""))  # fmt: skip
    except StepError:
        raise  # a 409 in words of where the examination stands, not the form again
    except UsageError as exc:
        return _compare(exam_id, rank, blind=False, error=str(exc), status=400)
    return redirect(url_for("review.analysis", exam_id=exam_id))


@bp.get("/cases/<int:exam_id>/candidates/<int:rank>/image.jpg")
@login_required
def candidate_image(exam_id: int, rank: int):
    data = _viewed_candidate(exam_id, rank, "photo")
    return display(services().gallery.recognizer, data)


def _viewed_candidate(exam_id: int, rank: int, kind: str) -> bytes:
    """A candidate's gallery image, its view recorded (ids only): who saw which subject, when."""
    user = current_user()
    data = wf().candidate_image(user, exam_id, rank)
    if data is None:
        raise UsageError("this candidate's images were erased from the gallery")
    row = wf().candidate(user, exam_id, rank)
    wf().record_view(user, "view.candidate_image", f"exam:{exam_id}", rank=rank, subject_id=row["subject_id"],
                     image_id=row["image_id"], kind=kind)  # fmt: skip
    return data


@bp.get("/cases/<int:exam_id>/candidates/<int:rank>/face.jpg")
@login_required
def candidate_face(exam_id: int, rank: int):
    data = _viewed_candidate(exam_id, rank, "face")
    return face_view(services().gallery.recognizer, wf().analyze(data), data, None)


@bp.get("/cases/<int:exam_id>/verify")
@login_required
def verify(exam_id: int, error=None, status=200):
    user = current_user()
    exam = wf().examination(user, exam_id)
    _facts, rows = wf().candidates(user, exam_id)
    review = wf().review_record(user, exam_id)
    return render_template("review/verify.html", exam=exam, candidates=rows, review=review, error=error,
                           may_release=wf().may_release(user, exam)), status  # fmt: skip


@bp.post("/cases/<int:exam_id>/verify")
@login_required
def submit(exam_id: int):
    try:
        wf().submit_for_review(current_user(), exam_id, request.form.get("corroboration", ""))
    except UsageError as exc:
        return verify(exam_id, str(exc), 400)
    return redirect(url_for("review.verify", exam_id=exam_id))


@bp.post("/cases/<int:exam_id>/close")
@login_required
def close(exam_id: int):
    try:
        exam = wf().close_without_lead(current_user(), exam_id, request.form.get("reason", ""))
    except UsageError as exc:
        if wf().examination(current_user(), exam_id).status == "dissented":
            return verify(exam_id, str(exc), 400)
        return analysis(exam_id, str(exc), 400)
    return redirect(url_for("cases.index", done="closed", case=exam.case_id))


@bp.get("/review")
@roles_required("reviewer")
def queue():
    return render_template("review/queue.html", exams=wf().review_queue(current_user()))


def _peer_page(exam_id: int, error=None, status=200):
    view = wf().blind_view(current_user(), exam_id)
    return render_template("review/peer.html", view=view, error=error, form=request.form), status


@bp.get("/review/<int:exam_id>")
@roles_required("reviewer")
def peer(exam_id: int):
    return _peer_page(exam_id)


@bp.post("/review/<int:exam_id>")
@roles_required("reviewer")
def peer_submit(exam_id: int):
    choice = request.form.get("choice", "")
    try:
        if choice == "":
            raise UsageError("choose the candidate you see as a possible lead, or 'none of these'")
        rank = None if choice == "none" else int(choice)
        wf().submit_review(current_user(), exam_id, rank, request.form.get("reason", ""))
    except (UsageError, ValueError) as exc:
        return _peer_page(exam_id, str(exc), 400)
    return redirect(url_for("review.verify", exam_id=exam_id))


@bp.post("/cases/<int:exam_id>/release")
@login_required
def release(exam_id: int):
    wf().release(current_user(), exam_id)
    return redirect(url_for("review.report", exam_id=exam_id, done="released"))


@bp.get("/cases/<int:exam_id>/report")
@login_required
def report(exam_id: int):
    user = current_user()
    r = wf().report(user, exam_id)
    wf().record_view(user, "view.lead_report", f"exam:{exam_id}", r["exam"]["case_id"])
    return render_template("review/report.html", r=r, unredacted_allowed=_unredacted_allowed(user),
                           example=is_example(r["exam"]["case_id"], wf().audit.device_id))  # fmt: skip


@bp.post("/cases/<int:exam_id>/package")
@login_required
def package(exam_id: int):
    """The disclosure package, made (and audited) on this request, handed over as a download.
    Also for an examination closed without a lead, when a supervisor asks (device/disclosure)."""
    choice = request.form.get("redaction", "")
    if choice not in ("redacted", "unredacted"):
        raise UsageError("choose the redacted or the unredacted package")
    user = current_user()
    exam = wf().examination(user, exam_id)
    made = make_package(wf(), user, exam.case_id, exam_id, redacted=choice == "redacted")
    return Response(made.data, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{made.filename}"',
        "Cache-Control": "private, no-store",
        "X-Package-SHA256": made.sha256,
    })  # fmt: skip
