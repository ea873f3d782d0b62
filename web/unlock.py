"""The unlock screen: while the box is locked it is the only page served.

The box is locked at boot on a passphrase-only unit, and after a tamper or an operator lock on any
unit. The passphrase goes to ``device.service.Appliance.unlock``, which ends the lockdown for every
process, audits it and hands this app its store. Attempts are serialised: with Argon2id costing
about 0.4 s per try on a Pi, that caps guessing at a few tries a second, and each try is logged.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for

from device.errors import LockedError, StoreError, WrongKeyError

log = logging.getLogger(__name__)

bp = Blueprint("unlock", __name__)
OPEN_WHILE_LOCKED = {"unlock.form", "unlock.submit", "static"}


def get_appliance():
    return current_app.config["FIELDFACE_APPLIANCE"]


def attach(app, appliance) -> None:
    """Serve ``appliance``'s store, swapping it on every unlock and lock."""
    app.config["FIELDFACE_APPLIANCE"] = appliance
    app.config["FIELDFACE_STORE"] = None if appliance.locked else appliance.store

    def swap(store):
        app.config["FIELDFACE_STORE"] = store
        if store is None:
            from web.services import drop

            drop(app)

    appliance.on_change(swap)
    app.register_blueprint(bp)


@bp.before_app_request
def _only_the_unlock_screen_while_locked():
    if not get_appliance().locked or request.endpoint in OPEN_WHILE_LOCKED:
        return None
    if request.path == "/healthz" or request.path.startswith("/api/"):
        return jsonify(status="locked", error="the box is locked"), 503
    return redirect(url_for("unlock.form"))


@bp.get("/unlock")
def form():
    appliance = get_appliance()
    if not appliance.locked:
        return redirect("/")
    reason = (appliance.lockdown.read() or {}).get("reason")
    return render_template("unlock/unlock.html", reason=reason, error=None)


@bp.post("/unlock")
def submit():
    appliance = get_appliance()
    if not appliance.locked:
        return redirect("/")
    passphrase = request.form.get("passphrase", "")
    reason = (appliance.lockdown.read() or {}).get("reason")
    with current_app.extensions["fieldface_locks"]["unlock"]:  # one passphrase check at a time
        try:
            appliance.unlock(passphrase, actor="touchscreen")
        except WrongKeyError:
            log.warning("unlock screen: wrong passphrase")
            message = "That passphrase does not unlock this unit."
            return render_template("unlock/unlock.html", reason=reason, error=message), 403
        except (LockedError, StoreError) as exc:
            return render_template("unlock/unlock.html", reason=reason, error=str(exc)), 503
    return redirect("/")
