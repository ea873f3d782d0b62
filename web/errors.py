"""Errors as JSON for the API (and for /healthz), as a short page for people; never a traceback."""

from __future__ import annotations

import logging

from flask import current_app, jsonify, render_template, request
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from device.errors import (
    AuthError,
    ErasedError,
    FieldfaceError,
    LockedError,
    NotAllowedError,
    NotFoundError,
    StepError,
)

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    if request.path.startswith("/api/") or request.path == "/healthz":
        return True
    return request.accept_mimetypes.best == "application/json"


def _reply(status: int, message: str):
    if _wants_json():
        return jsonify(error=message, status=status), status
    return render_template("error.html", status=status, message=message), status


def _too_large(exc):
    """413 in words, with the unit's limit; step 1's form comes back with what was typed, and the
    refused probe is recorded like any other refused import."""
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    size = f"{limit // 2**20} MB" if limit >= 2**20 else f"{limit // 2**10} KB"
    message = f"The file is larger than the {size} this unit accepts: choose a smaller photo."
    if _wants_json() or request.method != "POST" or request.endpoint != "cases.create":
        return _reply(413, message)
    from web.auth import current_user
    from web.cases import _new_form
    from web.requests import leading_fields
    from web.services import services

    form = leading_fields(("case", "offense", "purpose"))
    user = current_user()
    if user is not None:
        services().workflow.refuse_probe(user, form.get("case") or None, "too large", request.content_length or 0)
    body, _status = _new_form(message, form, 413)
    return body, 413


def register_error_handlers(app) -> None:
    app.register_error_handler(RequestEntityTooLarge, _too_large)

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        return _reply(exc.code or 500, exc.description or exc.name)

    @app.errorhandler(LockedError)
    def _locked(exc: LockedError):
        return _reply(503, str(exc))

    @app.errorhandler(AuthError)
    def _auth(exc: AuthError):
        return _reply(401, str(exc))

    @app.errorhandler(NotAllowedError)
    def _not_allowed(exc: NotAllowedError):
        return _reply(403, str(exc))

    @app.errorhandler(ErasedError)
    def _erased(exc: ErasedError):
        return _reply(410, str(exc))

    @app.errorhandler(NotFoundError)
    def _not_found(exc: NotFoundError):
        return _reply(404, str(exc))

    @app.errorhandler(StepError)
    def _step(exc: StepError):
        return _reply(409, str(exc))

    @app.errorhandler(FieldfaceError)
    def _expected(exc: FieldfaceError):
        return _reply(400 if exc.exit_code == 2 else 500, str(exc))

    @app.errorhandler(Exception)
    def _bug(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _reply(500, "internal error; the details are in the unit's log")
