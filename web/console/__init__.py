"""The central console: a second Flask app factory beside the unit's (web/__init__.py).

Why here: the top level is fixed and the unit never imports device/central, so the console's
*screens* live under web/ (one place for Flask code, its templates fall back to the unit's
web/templates, its static files are the unit's) and its *data access* lives in device/central/
(console_db, console_queries, console_alerts, console_reports). It reuses the unit web's
machinery, not copies of it: web/auth.py (guards, login/logout routes, origin checks, single-use
form tokens) over the unit's session code (device/workflow/sessions.py) pointed at the central
store (device/central/console_auth.py), web/requests.py (strict JSON, bounded ids), the CSP and
headers (web.secure_headers) and web/errors.py.
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g
from jinja2 import ChoiceLoader, FileSystemLoader

from device import __version__

HERE = Path(__file__).resolve().parent
WEB = HERE.parent


def create_console(config, backend, test_config: dict | None = None) -> Flask:
    """``backend``: the central store's (device/central/store.py), opened as the console's role."""
    from device.central.console_auth import ConsoleAuth
    from device.central.console_db import ConsoleDb, ConsoleLog
    from device.central.store import CentralStore, PooledBackend
    from web import auth, requests, secure_headers
    from web.console import audit, fleet, galleries, reports

    app = Flask("web.console", static_folder=str(WEB / "static"), template_folder=str(HERE / "templates"))
    app.jinja_loader = ChoiceLoader(
        [FileSystemLoader(str(HERE / "templates")), FileSystemLoader(str(WEB / "templates"))]
    )
    requests.install(app)
    if backend.dialect == "postgresql":  # SQLCipher connections are local and cheap to open
        backend = PooledBackend(backend)
    CentralStore(backend).close()  # fail at start, not at the first request, if the schema is not there
    db = ConsoleDb(backend)
    clog = ConsoleLog(db, config.console.name)
    app.extensions["fieldface_auth"] = ConsoleAuth(db, clog, config)
    app.extensions["fieldface_console"] = {"backend": backend, "db": db, "log": clog}
    app.config.update(
        FIELDFACE_STORE=backend,  # web/auth.py guards every request once a store is set
        FIELDFACE_CONFIG=config,
        FIELDFACE_HOME="console.fleet",
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=64 * 1024,  # forms and JSON of a few fields; nothing is uploaded here
    )
    if test_config:
        app.config.update(test_config)
    auth.init_app(app)
    for bp in (fleet.bp, reports.bp, audit.bp, galleries.bp):
        app.register_blueprint(bp)

    @app.context_processor
    def _globals():
        return {"version": __version__, "device_name": f"central console {config.console.name}"}

    @app.teardown_appcontext
    def _close(_exc):
        store = g.pop("central", None)
        if store is not None:
            store.close()

    secure_headers(app)
    from web.errors import register_error_handlers

    register_error_handlers(app)
    return app


def central():
    """This request's read connection to the central store (closed at the end of the request)."""
    from flask import current_app

    from device.central.store import CentralStore

    if "central" not in g:
        g.central = CentralStore(current_app.extensions["fieldface_console"]["backend"])
    return g.central


def parts():
    from flask import current_app

    ext = current_app.extensions["fieldface_console"]
    return ext["db"], ext["log"]
