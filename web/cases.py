"""Steps 1 and 2 on the touchscreen: the case list, a new search, the probe's faces, enhancement.

Thin door: every rule (reason fields, roles, training, quality override, allowed edits) is in
device/workflow; these views read forms, call it and render.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from device.errors import CameraError, FieldfaceError, UsageError
from device.workflow.enhance import OPS
from web.auth import current_user, login_required
from web.camera import PREVIEW_MAX_S
from web.camera import holder as camera_holder
from web.camera import page_state as camera_state
from web.images import display, face_view, faces_for_screen, jpeg_response
from web.services import services

bp = Blueprint("cases", __name__)
STEP_ENDPOINT = {1: "cases.probe", 2: "cases.enhance", 3: "review.analysis", 4: "review.verify", 5: "review.verify"}
STEP_NAMES = ("New search", "Enhancement", "Facial analysis", "Verification", "Lead report")


def wf():
    return services().workflow


def _int(value, what: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise UsageError(f"{what}: a number is required") from None


@bp.app_context_processor
def _step_names():
    return {"step_names": STEP_NAMES}


@bp.get("/")
def home():
    if wf().needs_setup():
        return redirect(url_for("auth.setup"))
    if current_user() is None:
        return redirect(url_for("auth.login"))
    return redirect(url_for("cases.index"))


@bp.get("/cases")
@login_required
def index():
    user = current_user()
    queue = len(wf().review_queue(user)) if user.has("reviewer") else None
    return render_template("cases/index.html", exams=wf().list_examinations(user), queue=queue)


def _new_form(error=None, form=None, status=200):
    # The offences the policy in force allows: the same list step 1 and the search check.
    return render_template("cases/new.html", error=error, form=form or {}, camera=camera_state(),
                           preview_max_s=PREVIEW_MAX_S, offenses=wf().policy().offense_categories), status  # fmt: skip


@bp.get("/cases/new")
@login_required
def new():
    return _new_form()


@bp.post("/cases/new")
@login_required
def create():
    form = request.form
    if form.get("source") == "camera":
        # The Capture button: a full-resolution still taken now is the probe, exactly as if it had
        # been imported (same hashing, quality report and audit), with where it came from recorded.
        try:
            data, source = camera_holder().capture()
        except CameraError as exc:
            return _new_form(f"{exc}. Import a photo file instead.", form, 503)
    else:
        upload = request.files.get("probe")
        data, source = (upload.read() if upload else b""), "import"
    try:
        exam = wf().start(current_user(), form.get("case", ""), form.get("offense", ""), form.get("purpose", ""), data,
                          source=source)  # fmt: skip
    except UsageError as exc:  # shown on the form with what was typed; nothing was saved
        return _new_form(str(exc), form, 400)
    return redirect(url_for("cases.show", exam_id=exam.id))


@bp.get("/cases/<int:exam_id>")
@login_required
def show(exam_id: int):
    exam = wf().examination(current_user(), exam_id)
    done = request.args.get("done")  # a message id (web/messages.py), carried to the step's page
    return redirect(url_for(STEP_ENDPOINT[exam.step], exam_id=exam_id, **({"done": done} if done else {})))


@bp.get("/cases/<int:exam_id>/probe")
@login_required
def probe(exam_id: int):
    exam = wf().examination(current_user(), exam_id)
    analysis = wf().analyze_working(exam)
    return render_template("cases/probe.html", exam=exam, faces=faces_for_screen(analysis), error=None)


@bp.post("/cases/<int:exam_id>/face")
@login_required
def face(exam_id: int):
    wf().choose_face(current_user(), exam_id, _int(request.form.get("face"), "face"))
    return redirect(url_for("cases.enhance", exam_id=exam_id))


@bp.post("/cases/<int:exam_id>/override")
@login_required
def override(exam_id: int):
    wf().override_quality(current_user(), exam_id, request.form.get("reason", ""))
    return redirect(url_for("cases.show", exam_id=exam_id, done="override"))


@bp.get("/cases/<int:exam_id>/enhance")
@login_required
def enhance(exam_id: int, error=None, status=200, preview_args=None):
    user = current_user()
    exam = wf().examination(user, exam_id)
    faces = faces_for_screen(wf().analyze_working(exam))
    chosen = exam.face_index if exam.face_index is not None else (0 if len(faces) == 1 else None)
    failing = chosen is not None and faces[chosen]["quality"]["verdict"] == "fail"
    # The Preview button posts (its form holds the one-use token); the picture's URL carries only
    # the edit's parameters, never the token.
    args = preview_args or {}
    return render_template("cases/enhance.html", exam=exam, faces=faces, chosen=chosen, failing=failing,
                           enhancement_allowed=wf().policy().enhancement_allowed,
                           edits=wf().edits(exam_id), ops=OPS, preview=args.get("op"),
                           preview_args=args, error=error), status  # fmt: skip


@bp.post("/cases/<int:exam_id>/enhance/preview")
@login_required
def preview_page(exam_id: int):
    args = {k: v for k, v in request.form.to_dict().items() if k != "csrf_token"}
    return enhance(exam_id, preview_args=args)


@bp.get("/cases/<int:exam_id>/enhance/preview.jpg")
@login_required
def preview(exam_id: int):
    args = request.args.to_dict()
    return jpeg_response(wf().preview_edit(current_user(), exam_id, args.pop("op", ""), args))


@bp.post("/cases/<int:exam_id>/enhance")
@login_required
def apply_edit(exam_id: int):
    params = request.form.to_dict()
    params.pop("csrf_token", None)
    try:
        wf().apply_edit(current_user(), exam_id, params.pop("op", ""), params)
    except UsageError as exc:
        return enhance(exam_id, str(exc), 400)
    return redirect(url_for("cases.enhance", exam_id=exam_id))


@bp.post("/cases/<int:exam_id>/search")
@login_required
def search(exam_id: int):
    face_value = request.form.get("face")
    face_index = _int(face_value, "face") if face_value not in (None, "") else None
    try:
        wf().run_search(current_user(), exam_id, face_index)
    except FieldfaceError as exc:
        if not isinstance(exc, UsageError):
            raise
        return enhance(exam_id, str(exc), 400)
    return redirect(url_for("review.analysis", exam_id=exam_id))


@bp.get("/cases/<int:exam_id>/face.jpg")
@login_required
def face_image(exam_id: int):
    """The searched face (the chosen face of the working image before the search), eye-aligned:
    shown on every step after the first and in the lead report."""
    user = current_user()
    exam = wf().examination(user, exam_id)
    data = wf().image(user, exam_id, "searched" if exam.search_id else "working")
    return face_view(services().gallery.recognizer, wf().analyze(data), data, exam.face_index)


@bp.get("/cases/<int:exam_id>/image/<which>.jpg")
@login_required
def image(exam_id: int, which: str):
    return display(services().gallery.recognizer, wf().image(current_user(), exam_id, which))
