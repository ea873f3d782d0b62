"""The status page and ``/healthz`` (for the unit's watchdog and for monitoring)."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from device.store.migrations import latest_version
from web.db import get_db, get_store

bp = Blueprint("status", __name__)


def _status() -> dict:
    db = get_db()
    store = get_store()
    meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
    return {
        "device_id": meta.get("device_id"),
        "created_at": meta.get("created_at"),
        "schema": db.execute("PRAGMA user_version").fetchone()[0],
        "latest_schema": latest_version(),
        "counts": store.counts(),
        "key_source": store.keyring.source,
    }


@bp.get("/")
def index():
    return render_template("status/index.html", status=_status())


@bp.get("/healthz")
def healthz():
    # A real query through the encrypted store: proves the key is in memory and the file opens.
    status = _status()
    return jsonify(status="ok", device_id=status["device_id"], schema=status["schema"])
