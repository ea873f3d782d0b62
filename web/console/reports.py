"""Agency reports: the unit's period report over the fleet (device/central/console_reports.py),
on a page with its charts and as HTML / CSV / JSON downloads (the unit's renderers). Every run
and every download is a ``report.generate`` entry in the console's log."""

from __future__ import annotations

from flask import Blueprint, Response, render_template, request

from device.central.console_reports import SCOPES, fleet_report
from device.errors import UsageError
from device.reports import render
from web.auth import current_user, roles_required
from web.console import central, parts
from web.reports import FORMATS, _day, _not_cross_site, default_period

bp = Blueprint("fleet_reports", __name__, url_prefix="/reports")


def _query() -> dict:
    return {k: request.args.get(k, "") for k in ("from", "to", *SCOPES)}


def _run(fmt: str) -> dict:
    _not_cross_site()
    start, end = _day(request.args.get("from"), "from"), _day(request.args.get("to"), "to")
    user = current_user()
    _db, clog = parts()
    scope = {k: request.args.get(k) for k in SCOPES}
    return fleet_report(central(), clog, start, end, scope, actor=user.username,
                        role=user.acting_as("supervisor", "auditor"), fmt=fmt)  # fmt: skip


def _form(error=None, status=200):
    from datetime import UTC, datetime

    start, end = default_period(datetime.now(UTC).date())
    q = _query()
    q["from"], q["to"] = q["from"] or start.isoformat(), q["to"] or end.isoformat()
    units = [u for u, _n, _a in central().units()]
    return render_template("console/reports.html", q=q, units=units, error=error), status


@bp.get("")
@roles_required("supervisor", "auditor")
def index():
    return _form()


@bp.get("/run")
@roles_required("supervisor", "auditor")
def run():
    try:
        report = _run("web")
    except UsageError as exc:
        return _form(str(exc), 400)
    query = {k: v for k, v in _query().items() if v}
    return render_template("console/report.html", r=report, charts=render.charts(report),
                           tables=render.tables(report), query=query)  # fmt: skip


@bp.get("/run.<fmt>")
@roles_required("supervisor", "auditor")
def download(fmt: str):
    if fmt not in FORMATS:
        raise UsageError(f"format {fmt!r}: choose html, csv or json")
    try:
        report = _run(fmt)
    except UsageError as exc:
        return _form(str(exc), 400)
    mimetype, make = FORMATS[fmt]
    name = f"fieldface-fleet-report-{report['period']['from']}-{report['period']['to']}.{fmt}"
    return Response(make(report), mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})
