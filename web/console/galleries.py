"""The agency's galleries on the console: versions and publications, what each unit applied, and
the erasure orders with their proofs and who still owes them (device/central/console_galleries.py)."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template

from device.central.console_galleries import overview
from web.auth import roles_required
from web.console import central

bp = Blueprint("galleries", __name__)
ANY = ("auditor", "supervisor", "admin")


def _humane(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else "under a minute"


def _size(n: int) -> str:
    for unit, scale in (("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} B"


def _when(stamp: str) -> str:
    return stamp[:19].replace("T", " ")


@bp.get("/galleries")
@roles_required(*ANY)
def index():
    return render_template("console/galleries.html", o=overview(central()), humane=_humane, size=_size,
                           when=_when)  # fmt: skip


@bp.get("/api/v1/galleries")
@roles_required(*ANY)
def api():
    return jsonify(overview(central()))
