"""Steps 1 and 2 on the touchscreen: the case list, a new search, the probe's faces, enhancement.

Thin door: every rule (reason fields, roles, training, quality override, allowed edits) is in
device/workflow; these views read forms, call it and render.
"""

from __future__ import annotations

import hashlib

from flask import Blueprint, redirect, render_template, request, url_for

from device.demo import is_example
from device.errors import CameraError, FieldfaceError, UsageError
from device.workflow.enhance import OPS
from device.workflow.stills import MAX_STILLS
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
    # is_example is called by the case list only (unlocked): the demo's example case is marked.
    return {"step_names": STEP_NAMES, "is_example": lambda case_id: is_example(case_id, wf().audit.device_id)}


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
    burst = None
    if form.get("source") == "camera":
        # The Capture button: a burst of full-resolution stills, the best by the unified quality
        # score is the probe, exactly as if it had been imported (same hashing, quality report and
        # audit), with where it came from and the burst recorded. The others wait in memory only.
        try:
            burst = camera_holder().capture_burst(wf().policy().judge_report)
        except CameraError as exc:
            return _new_form(f"{exc}. Import a photo file instead.", form, 503)
        data, source, summary = burst.stills[burst.best].jpeg, burst.source, burst.summary(burst.best)
    else:
        upload = request.files.get("probe")
        data, source, summary = (upload.read() if upload else b""), "import", None
    user = current_user()
    try:
        exam = wf().start(user, form.get("case", ""), form.get("offense", ""), form.get("purpose", ""), data,
                          source=source, burst=summary)  # fmt: skip
    except UsageError as exc:  # shown on the form with what was typed; nothing was saved
        return _new_form(str(exc), form, 400)
    if burst is not None and burst.size > 1:
        camera_holder().shelf.put(exam.id, user.id, burst)
        return redirect(url_for("cases.probe", exam_id=exam.id))  # the chosen still, and the others
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
    user = current_user()
    exam = wf().examination(user, exam_id)
    analysis = wf().analyze_working(exam)
    shelf = camera_holder().shelf
    burst = shelf.get(exam_id, user.id) if exam.status == "open" else None
    in_probe = {exam.probe_sha256}
    stills = []
    for row in wf().stills(user, exam_id):
        quality = None
        if row["held"]:
            found = wf().analyze(wf().still_image(user, exam_id, row["position"])).faces
            quality = found[row["face_index"]].quality.to_dict()
        stills.append(row | {"quality_report": quality})
        in_probe.add(row["sha256"])
    # Which burst stills are already the probe or one of its stills (no button to add them again).
    used = [hashlib.sha256(s.jpeg).hexdigest() in in_probe for s in burst.stills] if burst else []
    return render_template("cases/probe.html", exam=exam, faces=faces_for_screen(analysis),
                           error=request.args.get("error"), burst=burst, burst_left_s=int(shelf.remaining_s(exam_id)),
                           stills=stills, max_stills=MAX_STILLS, used=used)  # fmt: skip


def _burst_still(exam_id: int, n: int):
    burst = camera_holder().shelf.get(exam_id, current_user().id)
    if burst is None:
        raise UsageError("the other stills of this burst are gone (kept only for a short time, never written)")
    if not 0 <= n < burst.size:
        raise UsageError(f"no still {n + 1} in this burst")
    return burst


@bp.get("/cases/<int:exam_id>/burst/<int:n>.jpg")
@login_required
def burst_image(exam_id: int, n: int):
    return display(services().gallery.recognizer, _burst_still(exam_id, n).stills[n].jpeg)


@bp.post("/cases/<int:exam_id>/burst/<int:n>")
@login_required
def burst_choice(exam_id: int, n: int):
    """Use still ``n`` of the burst instead of the kept one, or add it to the probe (same person)."""
    try:
        burst = _burst_still(exam_id, n)
        if request.form.get("action") == "add":
            wf().add_still(current_user(), exam_id, burst.stills[n].jpeg, source=burst.source)
        else:
            wf().use_burst_still(current_user(), exam_id, burst.stills[n].jpeg, burst.summary(n))
    except UsageError as exc:
        return redirect(url_for("cases.probe", exam_id=exam_id, error=str(exc)))
    return redirect(url_for("cases.probe", exam_id=exam_id))


@bp.post("/cases/<int:exam_id>/stills")
@login_required
def add_still(exam_id: int):
    """Another still of the same person, imported (a frame of a video the agency holds)."""
    upload = request.files.get("still")
    try:
        wf().add_still(current_user(), exam_id, upload.read() if upload else b"", source="import")
    except UsageError as exc:
        return redirect(url_for("cases.probe", exam_id=exam_id, error=str(exc)))
    return redirect(url_for("cases.probe", exam_id=exam_id))


@bp.get("/cases/<int:exam_id>/stills/<int:position>.jpg")
@login_required
def still_image(exam_id: int, position: int):
    return display(services().gallery.recognizer, wf().still_image(current_user(), exam_id, position))


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
                           still_count=len(wf().stills(user, exam_id)),
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
