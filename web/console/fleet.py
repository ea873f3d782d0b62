"""The fleet page, its JSON, alerts and their acknowledgement, /healthz."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from device.central import console_alerts
from device.central.units import fleet as fleet_status
from web.auth import current_user, roles_required
from web.console import central, parts

bp = Blueprint("console", __name__)
ANY = ("auditor", "supervisor", "admin")


def _state():
    config = current_app.config["FIELDFACE_CONFIG"]
    store = central()
    now = datetime.now(UTC)
    units = fleet_status(store, config.central.offline_after_s, now)
    db, clog = parts()
    alerts = console_alerts.with_acks(db, console_alerts.current(store, config, now, units))
    # Raised once each (console log, MQTT when configured); a page view may be the first to see one.
    console_alerts.raise_new(db, clog, alerts, current_app.extensions.get("fieldface_alert_publisher"))
    return units, alerts


@bp.get("/healthz")
def healthz():
    store = central()
    return jsonify(status="ok", console=current_app.config["FIELDFACE_CONFIG"].console.name,
                   schema=store._version(), units=len(store.units()))  # fmt: skip


@bp.get("/")
def home():
    return redirect(url_for("console.fleet"))


@bp.get("/fleet")
@roles_required(*ANY)
def fleet():
    units, alerts = _state()
    standing = [a for a in alerts if a["ack"] is None]
    return render_template("console/fleet.html", units=units, alerts=alerts, standing=standing)


@bp.get("/api/v1/units")
@roles_required(*ANY)
def api_units():
    units, alerts = _state()
    return jsonify(units=units, alerts=alerts)


@bp.post("/alerts/<key>/acknowledge")
@roles_required("supervisor")
def acknowledge(key: str):
    if not key.isalnum() or len(key) > 64:
        return jsonify(error="no such alert", status=404), 404
    db, clog = parts()
    config = current_app.config["FIELDFACE_CONFIG"]
    done = console_alerts.acknowledge(db, clog, central(), config, current_user(), key, request.form.get("note", ""))
    if request.accept_mimetypes.best == "application/json":
        return jsonify(alert=done)
    return redirect(url_for("console.fleet") + "#alerts")


@bp.get("/console-log")
@roles_required("auditor", "admin")
def console_log():
    _db, clog = parts()
    return render_template("console/log.html", entries=clog.latest(200), problems=clog.verify())
