"""The JSON API under /api/v1/, used by the UI's own scripts; described at /api/v1/openapi.json.

Same sessions, same guards and same one-time tokens as the pages (``X-CSRF-Token`` header; get
one from ``GET /api/v1/csrf-token``); unauthenticated calls get 401 JSON.
"""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request, url_for

from device.gallery.records import list_subjects
from web.auth import current_user, login_required, roles_required
from web.requests import json_object, whole_number
from web.services import services

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def wf():
    return services().workflow


@bp.get("/csrf-token")
@login_required
def csrf_token():
    return jsonify(token=wf().issue_form_token(g.session))


@bp.get("/cases")
@login_required
def cases():
    return jsonify(cases=[e.to_dict() for e in wf().list_examinations(current_user())])


@bp.get("/cases/<int:exam_id>")
@login_required
def case(exam_id: int):
    user = current_user()
    exam = wf().examination(user, exam_id)
    body = {"case": exam.to_dict(), "edits": wf().edits(exam_id)}
    if exam.search_id is not None:
        body["search"], body["candidates"] = wf().candidates(user, exam_id)
    return jsonify(body)


@bp.post("/searches")
@login_required
def start_search():
    data = json_object()
    exam_id = whole_number(data.get("case_id"), "case_id", 1)
    face = data.get("face_index")
    face = whole_number(face, "face_index", 0, 999) if face not in (None, "") else None
    result = wf().run_search(current_user(), exam_id, face)
    body = result.to_dict()
    body["next"] = url_for("review.analysis", exam_id=exam_id)
    return jsonify(body), 201


@bp.get("/subjects")
@roles_required("supervisor", "examiner")
def subjects():
    with services().store.connection() as conn:
        return jsonify(subjects=[s.to_dict() for s in list_subjects(conn, request.args.get("gallery"))])


@bp.get("/audit")
@roles_required("auditor", "supervisor")
def audit():
    after = whole_number(request.args.get("after", "0"), "after", 0)
    limit = whole_number(request.args.get("limit", "100"), "limit", 1, 1000)
    return jsonify(entries=[e.to_wire() for e in services().audit.entries(after, limit)])


@bp.get("/openapi.json")
def openapi():
    from web.openapi import document

    return jsonify(document())
