"""The status page and ``/healthz`` (for the unit's watchdog and for monitoring)."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from device.store.migrations import latest_version
from web.auth import login_required
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


def _unit() -> dict:
    """What a supervisor checks at a glance: models, gallery size, the audit outbox."""
    from web.services import services

    svc = services()
    db = get_db()
    head = db.execute("SELECT coalesce(max(seq), 0) FROM audit_log").fetchone()[0]
    sync = db.execute("SELECT acked_seq, updated_at FROM audit_sync ORDER BY updated_at DESC LIMIT 1").fetchone()
    rec = svc.gallery.recognizer
    return {
        "models": {"detector": rec.detector.model.entry.id,
                   "embedder": rec.model_id, "interpreter": rec.interpreter},
        "subjects": db.execute("SELECT count(*) FROM subjects").fetchone()[0],
        "images": db.execute("SELECT count(*) FROM face_images").fetchone()[0],
        "audit_head": head,
        "sync_backlog": head - (sync[0] if sync else 0),
        "last_sync": sync[1] if sync else None,
    }  # fmt: skip


@bp.get("/status")
@login_required
def index():
    return render_template("status/index.html", status=_status(), unit=_unit())


@bp.get("/healthz")
def healthz():
    # A real query through the encrypted store: proves the key is in memory and the file opens.
    status = _status()
    body = {"status": "ok", "device_id": status["device_id"], "schema": status["schema"]}
    # A disk low on space: "degraded" with the numbers (writes may be refused), not a 503, so that
    # it is reported rather than answered by watchdog restarts.
    from flask import current_app

    from device.fsutil import MIN_FREE_BYTES, disk_status

    disk = disk_status(get_store().data_dir, current_app.config.get("MIN_FREE_BYTES", MIN_FREE_BYTES))
    if disk["low"]:
        body.update(status="degraded", disk=disk)
    return jsonify(body)
