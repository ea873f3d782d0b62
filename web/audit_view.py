"""The audit viewer (auditors and supervisors): entries newest first, filters, chain verification."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from device.audit import verify_store
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
    entries = services().audit.newest(PAGE, before=before, case=case, action=action)
    return render_template("audit/index.html", entries=entries, case=case, action=action,
                           older=entries[-1].seq if len(entries) == PAGE else None, report=None)  # fmt: skip


@bp.post("/verify")
@roles_required("auditor", "supervisor")
def verify():
    audit = services().audit
    report = verify_store(audit, parse_public_key(audit.signer.public_key_hex))
    return render_template("audit/index.html", entries=[], case="", action="", older=None, report=report)
