"""One store connection per request, closed in teardown (see web.create_app)."""

from __future__ import annotations

from flask import current_app, g


def get_store():
    return current_app.config["FIELDFACE_STORE"]


def get_db():
    if "db" not in g:
        g.db = get_store().connect()
    return g.db
