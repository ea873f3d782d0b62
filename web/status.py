"""The status page and ``/healthz`` (for the unit's watchdog and for monitoring)."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from device.store.migrations import latest_version
from web.auth import login_required
from web.db import get_store

bp = Blueprint("status", __name__)


def _status(store) -> dict:
    from device.gallery.restore_gate import describe

    meta = store.meta()
    return {
        "restore_gate": describe(store),
        "device_id": meta.get("device_id"),
        "created_at": meta.get("created_at"),
        "schema": store.schema_version(),
        "latest_schema": latest_version(),
        "counts": store.counts(),
        "key_source": store.keyring.source,
    }


def _unit(counts: dict) -> dict:
    """What a supervisor checks at a glance: models, gallery size, the audit outbox."""
    from web.services import services

    svc = services()
    head, _ = svc.audit.head()
    acked, _ = svc.audit.acked(svc.gallery.config.sync.destination)
    rec = svc.gallery.recognizer
    return {
        "models": {"detector": rec.detector.model.entry.id,
                   "embedder": rec.model_id, "interpreter": rec.interpreter},
        "subjects": counts.get("subjects", 0),
        "images": counts.get("face_images", 0),
        "audit_head": head,
        "sync_backlog": head - acked,
        "last_sync": f"acknowledged up to entry {acked}" if acked else None,
    }  # fmt: skip


@bp.get("/status")
@login_required
def index():
    status = _status(get_store())
    return render_template("status/index.html", status=status, unit=_unit(status["counts"]))


@bp.get("/healthz")
def healthz():
    # A real query through the encrypted store: proves the key is in memory and the file opens.
    store = get_store()
    body = {"status": "ok", "device_id": store.meta().get("device_id"), "schema": store.schema_version()}
    # A disk low on space: "degraded" with the numbers (writes may be refused), not a 503, so that
    # it is reported rather than answered by watchdog restarts.
    from flask import current_app

    from device.fsutil import MIN_FREE_BYTES, disk_status

    disk = disk_status(store.data_dir, current_app.config.get("MIN_FREE_BYTES", MIN_FREE_BYTES))
    if disk["low"]:
        body.update(status="degraded", disk=disk)
    return jsonify(body)
