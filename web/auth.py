"""Login, logout, first-run setup, and the guards every other blueprint uses.

For blueprints (this one, web/cases.py, web/reports.py ...)::

    from web.auth import current_user, login_required, roles_required

    @bp.get("/something")
    @login_required                      # any logged-in user; pages redirect to /login, /api/ gets 401
    def something(): ...

    @bp.post("/supervise")
    @roles_required("supervisor", "auditor")   # any one of these roles, else 403
    def supervise(): current_user().username ...

Templates get ``current_user`` and ``form_token()``: every POST form carries
``<input type="hidden" name="csrf_token" value="{{ form_token() }}">`` (JS sends it as the
``X-CSRF-Token`` header). The token is single-use and bound to the session, so a cross-site post,
a post from another session and a replayed post are all refused (device/workflow/sessions.py);
a foreign ``Origin`` or ``Sec-Fetch-Site: cross-site`` is refused before that. Who may do what
inside the workflow is decided in device/workflow, never here: these guards only keep strangers out.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, jsonify, redirect, render_template, request, url_for

from device.errors import AuthError, NotAllowedError, UsageError
from web.services import services

bp = Blueprint("auth", __name__)
COOKIE = "ff_session"
UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}
# No session exists yet on these forms; the Origin checks still apply.
NO_SESSION_FORMS = {"auth.login_post", "auth.setup_post"}
# Not ours: the appliance's unlock screen (web/unlock.py) and files.
UNGUARDED = {"static", "status.healthz", "unlock.form", "unlock.submit", "console.healthz"}


def current_user():
    return g.get("user")


def _sessions():
    """Who keeps logins: the unit's workflow, or what an app put in ``extensions["fieldface_auth"]``
    (the central console, web/console: the same session code over the central store)."""
    return current_app.extensions.get("fieldface_auth") or services().workflow


def _is_api() -> bool:
    return request.path.startswith("/api/")


def _unauthenticated():
    if _is_api():
        return jsonify(error="log in first", status=401), 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def login_required(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if current_user() is None:
            return _unauthenticated()
        return view(*args, **kwargs)

    return wrapped


def roles_required(*roles: str):
    def decorate(view):
        @functools.wraps(view)
        def wrapped(*args, **kwargs):
            user = current_user()
            if user is None:
                return _unauthenticated()
            if not user.has(*roles):
                raise NotAllowedError(f"this page needs the {' or '.join(roles)} role")
            return view(*args, **kwargs)

        return wrapped

    return decorate


def _same_origin() -> bool:
    # Browsers say where a request comes from in Sec-Fetch-Site. Origin is the fallback; with our
    # Referrer-Policy: no-referrer, Chromium sends "Origin: null" even for same-origin posts.
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin and origin != "null":
        return urlsplit(origin).netloc == request.host
    return True


def _load_session():
    g.user = g.session = None
    if request.endpoint in UNGUARDED or current_app.config.get("FIELDFACE_STORE") is None:
        return None
    wf = _sessions()
    session = wf.resume(request.cookies.get(COOKIE))
    if session is not None:
        g.session, g.user = session, session.user
    if request.method in UNSAFE:
        if not _same_origin():
            raise NotAllowedError("cross-site request refused")
        if session is not None:
            token = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
            wf.consume_form_token(session, token)
        elif request.endpoint not in NO_SESSION_FORMS:
            return _unauthenticated()
    return None


def _form_token() -> str:
    return _sessions().issue_form_token(g.session) if g.get("session") else ""


def _today():
    return _sessions().today()


def _set_cookie(response):
    token = g.pop("new_session_token", None)
    if token is not None:
        secure = current_app.config["FIELDFACE_CONFIG"].workflow.secure_cookies
        response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=secure, path="/")
    if g.pop("end_session", False):
        response.delete_cookie(COOKIE, path="/")
    return response


def init_app(app) -> None:
    """Register after web/unlock.py: while the box is locked, the unlock screen answers first."""
    app.before_request(_load_session)
    app.after_request(_set_cookie)
    app.register_blueprint(bp)

    @app.context_processor
    def _auth_globals():
        return {"current_user": current_user(), "form_token": _form_token, "today": _today}


def _safe_next(target: str | None) -> str:
    # Only a local path: never an open redirect to another site. Browsers drop tab, CR and LF from
    # a URL and read "\\" as "/", so "/\t/evil.example/" would become "//evil.example/": refuse any
    # control character or backslash, and anything that parses with a scheme or a host.
    if (
        target
        and len(target) <= 2000
        and target.startswith("/")
        and not target.startswith("//")
        and not any(ord(c) < 0x20 or ord(c) == 0x7F or c == "\\" for c in target)
    ):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for(current_app.config.get("FIELDFACE_HOME", "cases.index"))


@bp.get("/login")
def login():
    if _sessions().needs_setup():
        return redirect(url_for("auth.setup"))
    return render_template("auth/login.html", error=None, next=request.args.get("next", ""))


@bp.post("/login")
def login_post():
    try:
        token, _session = _sessions().login(
            request.form.get("username", ""), request.form.get("password", ""), request.remote_addr or "unknown"
        )
    except AuthError as exc:
        return render_template("auth/login.html", error=str(exc), next=request.form.get("next", "")), 401
    g.new_session_token = token
    return redirect(_safe_next(request.form.get("next")))


@bp.post("/logout")
@login_required
def logout():
    _sessions().logout(g.session)
    g.end_session = True
    return redirect(url_for("auth.login"))


@bp.get("/setup")
def setup():
    if not _sessions().needs_setup():
        return redirect(url_for("auth.login"))
    return render_template("auth/setup.html", error=None, form={})


@bp.post("/setup")
def setup_post():
    wf = _sessions()
    if not wf.needs_setup():
        raise NotAllowedError("first-run setup is over: a supervisor already exists")
    form = request.form
    if form.get("password", "") != form.get("password2", ""):
        return render_template("auth/setup.html", error="the two passwords differ", form=form), 400
    try:
        wf.first_run(form.get("username", ""), form.get("display_name", ""), form.get("password", ""),
                     form.get("training_valid_until", ""))  # fmt: skip
    except UsageError as exc:
        return render_template("auth/setup.html", error=str(exc), form=form), 400
    return redirect(url_for("auth.login"))
