"""The audit viewer (auditors and supervisors): entries newest first, filters, chain verification."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from device.audit import verify_store
from device.audit.log import entry_from_row
from device.audit.signing import parse_public_key
from web.auth import roles_required
from web.services import services

bp = Blueprint("audit", __name__, url_prefix="/audit")
PAGE = 50


@bp.get("")
@roles_required("auditor", "supervisor")
def index():
    case = request.args.get("case", "").strip()
    action = request.args.get("action", "").strip()
    before = request.args.get("before", type=int)
    sql, params = "SELECT body, hash FROM audit_log WHERE 1 = 1", []
    if case:
        sql, params = sql + " AND case_id = ?", [*params, case]
    if action:
        sql, params = sql + " AND action LIKE ?", [*params, action + "%"]
    if before:
        sql, params = sql + " AND seq < ?", [*params, before]
    with services().store.connection() as conn:
        rows = conn.execute(sql + " ORDER BY seq DESC LIMIT ?", [*params, PAGE]).fetchall()
    entries = [entry_from_row(b, h) for b, h in rows]
    return render_template("audit/index.html", entries=entries, case=case, action=action,
                           older=entries[-1].seq if len(entries) == PAGE else None, report=None)  # fmt: skip


@bp.post("/verify")
@roles_required("auditor", "supervisor")
def verify():
    audit = services().audit
    report = verify_store(audit, parse_public_key(audit.signer.public_key_hex))
    return render_template("audit/index.html", entries=[], case="", action="", older=None, report=report)
