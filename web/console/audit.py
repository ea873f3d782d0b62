"""The audit explorer: filter the fleet's entries, an entry with its chain proof, "verify this
unit's chain now", and a unit's epoch exported for ``fieldface audit verify --file``. What an
auditor looks at is itself recorded in the console's log (searches, proofs, verifications, exports)."""

from __future__ import annotations

from flask import Blueprint, Response, abort, render_template, request

from device.central import console_proof, console_queries
from device.central.check import verify_central
from device.errors import UsageError
from web.auth import current_user, roles_required
from web.console import central, parts
from web.reports import _day
from web.requests import whole_number

bp = Blueprint("explorer", __name__, url_prefix="/explorer")
READERS = ("auditor", "supervisor")
PAGE = 100
TEXT_FILTERS = ("unit", "user", "case", "action", "outcome")


def _record(what: str, obj: str | None = None, details: dict | None = None) -> None:
    user = current_user()
    _db, clog = parts()
    clog.record(what, actor=user.username, role=user.acting_as("supervisor", "auditor"), object=obj,
                details={k: v for k, v in (details or {}).items() if v not in (None, "")})  # fmt: skip


def _filters() -> tuple[dict, str | None, str | None]:
    filters = {}
    for name in TEXT_FILTERS:
        value = request.args.get(name, "").strip()
        if len(value) > 200 or any(ord(c) < 0x20 for c in value):
            raise UsageError(f"{name}: at most 200 printable characters")
        filters[name] = value
    start = request.args.get("from", "").strip()
    end = request.args.get("to", "").strip()
    start = _day(start, "from").isoformat() if start else None
    end = _day(end, "to").isoformat() + "T99" if end else None  # the whole last day: "...T99" sorts after it
    return filters, start, end


def _unit(unit: str) -> str:
    if unit not in {u for u, _n, _a in central().units()}:
        abort(404, f"no registered unit {unit!r}")
    return unit


@bp.get("")
@roles_required(*READERS)
def index():
    error, rows = None, []
    filters, start, end = {}, None, None
    page = whole_number(request.args.get("page", "0") or "0", "page", 0, 100_000)
    try:
        filters, start, end = _filters()
        rows = console_queries.search(central(), filters, start, end, PAGE, page * PAGE)
        if any(filters.values()) or start or end:
            _record("explorer.search", None, {**filters, "from": start, "to": end, "page": page, "rows": len(rows)})
    except UsageError as exc:
        error = str(exc)
    units = [u for u, _n, _a in central().units()]
    args = {k: v for k, v in request.args.items() if k != "page"}
    return render_template("console/explorer.html", rows=rows, q=request.args, units=units, error=error,
                           page=page, more=len(rows) == PAGE, args=args), 400 if error else 200  # fmt: skip


@bp.get("/<unit>/<int:epoch>/<int:seq>")
@roles_required(*READERS)
def entry(unit: str, epoch: int, seq: int):
    found = console_proof.proof(central(), _unit(unit), epoch, seq)
    if found is None:
        abort(404, f"central holds no entry {seq} in epoch {epoch} of unit {unit}")
    _record("explorer.proof", f"entry:{unit}/{epoch}/{seq}")
    return render_template("console/entry.html", p=found)


@bp.post("/<unit>/verify")
@roles_required(*READERS)
def verify(unit: str):
    result = verify_central(central(), only=_unit(unit))[unit]
    _record("explorer.verify", f"unit:{unit}", {"entries": result["entries"], "problems": len(result["problems"])})
    return render_template("console/verified.html", unit=unit, r=result)


@bp.get("/<unit>/export")
@roles_required(*READERS)
def export(unit: str):
    store = central()
    _unit(unit)
    epochs = store.epochs(unit)
    if not epochs:
        abort(404, f"central holds nothing from unit {unit}")
    epoch = whole_number(request.args.get("epoch", epochs[-1].epoch), "epoch", 0, 1_000_000)
    start = request.args.get("from", "").strip()
    after = console_proof.first_seq_at(store, unit, epoch, _day(start, "from").isoformat()) if start else 0
    lines = list(console_proof.export_lines(store, unit, epoch, after))
    _record("explorer.export", f"unit:{unit}", {"epoch": epoch, "after": after, "entries": len(lines) - 2})
    name = f"{unit}-epoch{epoch}-after{after}.jsonl"
    return Response("".join(lines), mimetype="application/x-ndjson",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip
