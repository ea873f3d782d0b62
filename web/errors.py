"""Errors as JSON for the API (and for /healthz), as a short page for people; never a traceback."""

from __future__ import annotations

import logging

from flask import jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from device.errors import AuthError, ErasedError, FieldfaceError, LockedError, NotAllowedError, StepError

log = logging.getLogger(__name__)


def _wants_json() -> bool:
    if request.path.startswith("/api/") or request.path == "/healthz":
        return True
    return request.accept_mimetypes.best == "application/json"


def _reply(status: int, message: str):
    if _wants_json():
        return jsonify(error=message, status=status), status
    return render_template("error.html", status=status, message=message), status


def register_error_handlers(app) -> None:
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
