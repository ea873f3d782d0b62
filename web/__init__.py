"""The local review UI: a Flask application factory over the device services.

The web layer owns no hardware and no rules: it calls device services and renders their
results. Everything is served locally (no CDN): the box has no network.
"""

from __future__ import annotations

import threading

from flask import Flask, g

from device import __version__

# No inline script or style anywhere: the UI must work under this policy.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


def secure_headers(app) -> None:
    """CSP and the other headers on every response (the unit's app and the central console's)."""

    @app.after_request
    def _headers(response):
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("Cache-Control", "no-store")
        return response


def create_app(store, config, test_config: dict | None = None, appliance=None) -> Flask:
    """``store`` is an unlocked device.store.Store; ``config`` the validated device.config.Config.

    With ``appliance`` (a device.service.Appliance) the store is the appliance's: while the box is
    locked only the unlock screen is served (web/unlock.py).
    """
    app = Flask(__name__)
    # The app's own state, not the modules': what requests share lives here, made once per app
    # (services bundle, camera holder, background jobs) with the locks that guard it.
    app.extensions["fieldface"] = {}
    app.extensions["fieldface_locks"] = {name: threading.Lock() for name in ("services", "camera", "unlock")}
    from web import requests

    requests.install(app)  # uploads in memory, strict JSON
    app.config.update(
        FIELDFACE_STORE=store,
        FIELDFACE_CONFIG=config,
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=config.workflow.max_upload_mb * 1024 * 1024,
    )
    if test_config:
        app.config.update(test_config)

    from web import status

    app.register_blueprint(status.bp)
    if appliance is not None:
        from web import unlock

        unlock.attach(app, appliance)

    from web import admin, api, audit_view, auth, camera, cases, gallery_admin, reports, review

    auth.init_app(app)  # after the unlock screen's guard: a locked box answers with that first
    from web import background

    background.attach(app)  # the executor for long jobs; web.background.shutdown(app) stops it
    blueprints = (cases.bp, camera.bp, review.bp, gallery_admin.bp, audit_view.bp, admin.bp, reports.bp, api.bp)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)

    from web.messages import done_message, overrides_waiting

    @app.context_processor
    def _globals():
        return {"version": __version__, "device_name": config.device.name, "done": done_message(),
                "overrides_waiting": overrides_waiting}  # fmt: skip

    @app.teardown_appcontext
    def _close_db(_exc):
        conn = g.pop("db", None)
        if conn is not None:
            conn.close()

    secure_headers(app)
    from web.errors import register_error_handlers

    register_error_handlers(app)
    return app
