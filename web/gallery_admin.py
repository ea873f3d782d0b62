"""Gallery management screens: subjects, enrollment, deletion with confirmation (supervisors).

Enrollment and erasure rules (legal basis, quality bar, verified erasure) are device/gallery's.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from device.errors import UsageError
from device.gallery import Actor, SubjectInfo
from device.gallery.records import get_subject, image_bytes, image_ids, list_subjects
from web.auth import current_user, roles_required
from web.images import display
from web.services import services

bp = Blueprint("gallery", __name__, url_prefix="/gallery")


def _actor() -> Actor:
    return Actor(current_user().username, "supervisor")


@bp.get("")
@roles_required("supervisor")
def index():
    with services().store.connection() as conn:
        subjects = list_subjects(conn)
    return render_template("gallery/index.html", subjects=subjects)


@bp.get("/subjects/<int:subject_id>")
@roles_required("supervisor")
def subject(subject_id: int):
    with services().store.connection() as conn:
        row = get_subject(conn, subject_id)
        images = image_ids(conn, subject_id)
    services().workflow.record_view(current_user(), "view.gallery_subject", f"subject:{subject_id}")
    return render_template("gallery/subject.html", s=row, images=images)


@bp.get("/images/<int:image_id>.jpg")
@roles_required("supervisor")
def image(image_id: int):
    with services().store.connection() as conn:
        data = image_bytes(conn, image_id)
    if data is None:
        raise UsageError("no such image (erased?)")
    services().workflow.record_view(current_user(), "view.gallery_image", f"image:{image_id}")
    return display(services().gallery.recognizer, data, 480)


@bp.get("/enroll")
@roles_required("supervisor")
def enroll_form():
    return render_template("gallery/enroll.html", form={}, error=None, report=None)


@bp.post("/enroll")
@roles_required("supervisor")
def enroll():
    form = request.form
    files = [(f.filename or "upload", f.read()) for f in request.files.getlist("images") if f.filename]
    try:
        if not files:
            raise UsageError("choose at least one photo (JPEG or PNG)")
        info = SubjectInfo(
            form.get("display_name", ""),
            form.get("legal_basis", ""),
            services().gallery.config.gallery.default_gallery,
            form.get("reference") or None,
            form.get("category", ""),
            form.get("source", ""),
            form.get("retain_until") or None,
        )
        report = services().gallery.enroll(info, files, _actor())
    except UsageError as exc:
        return render_template("gallery/enroll.html", form=form, error=str(exc), report=None), 400
    return render_template("gallery/enroll.html", form={}, error=None, report=report)


@bp.get("/subjects/<int:subject_id>/delete")
@roles_required("supervisor")
def confirm_delete(subject_id: int):
    with services().store.connection() as conn:
        row = get_subject(conn, subject_id)
    return render_template("gallery/delete.html", s=row, error=None)


@bp.post("/subjects/<int:subject_id>/delete")
@roles_required("supervisor")
def delete(subject_id: int):
    if request.form.get("confirm") != "yes":
        with services().store.connection() as conn:
            row = get_subject(conn, subject_id)
        return render_template("gallery/delete.html", s=row, error="tick the confirmation box to erase"), 400
    services().gallery.delete_subject(subject_id, _actor(), request.form.get("reason", ""))
    return redirect(url_for("gallery.index"))
