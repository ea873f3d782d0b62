"""Accountability pages: the period report, operational tests, and the policy settings.

A thin door over device/policy.py and device/reports (the figures, the rates, the validation and
the audit entries all live there). What is decided here is only who may open which page and which
folder of photos the web UI may read.

Who: the period report and stored evaluations are for supervisors and auditors; running an
evaluation and changing policy are for supervisors; auditors see the policy read-only.

Producing a report is a GET (the period is in the URL, so a reload or a second download works)
that still writes a ``report.generate`` audit entry: that entry is an access record, like reading
a case file, not a change the reader asked for. The session cookie is SameSite=Strict, and a
cross-site fetch is refused here as well, so another site cannot make a reader's browser add one.

Operational tests read a folder below ``reports.evaluation_root`` (a mounted USB stick): no zip
upload, because unpacking would copy an agency's biometric photos onto the unit's unencrypted
temporary storage, and an archive needs its own defences (member paths, bomb ratios). The run
happens on the app's background executor (web/background.py: every photo is detected, assessed
and embedded, so a real set takes far longer than gunicorn's request timeout) with a progress page;
one run at a time, since it shares the two cores and the recognizer with searches. The pipeline is
the CLI's (device/reports/operational.py).
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, jsonify, redirect, render_template, request, url_for

from device.errors import NotAllowedError, UsageError
from device.policy import SETTINGS, Policy, parse_value, reset_setting, set_setting
from device.reports import evaluate, period, render
from device.reports.operational import run_operational_test
from web import background
from web.auth import current_user, roles_required
from web.services import recognizer, services

bp = Blueprint("reports", __name__, url_prefix="/reports")
FORMATS = {
    "html": ("text/html; charset=utf-8", render.to_html),
    "csv": ("text/csv; charset=utf-8", render.to_csv),
    "json": ("application/json", render.to_json),
}
FAR_CHOICES = ("0.01", "0.001", "0.0001")


def _config():
    return current_app.config["FIELDFACE_CONFIG"]


def _not_cross_site() -> None:
    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        raise NotAllowedError("cross-site request refused")


# ---- the period report ------------------------------------------------------------------------


def _day(text: str | None, what: str) -> date:
    try:
        return date.fromisoformat((text or "").strip())
    except ValueError:
        raise UsageError(f"{what}: expected a date YYYY-MM-DD, got {repr(text) if text else 'nothing'}") from None


def _period() -> tuple[date, date]:
    start, end = _day(request.args.get("from"), "from"), _day(request.args.get("to"), "to")
    if end < start:
        raise UsageError(f"the period ends ({end}) before it starts ({start})")
    return start, end


def _generate(fmt: str) -> dict:
    _not_cross_site()
    start, end = _period()
    user = current_user()
    return period.generate(services().store, start, end, actor=user.username,
                           role=user.acting_as("supervisor", "auditor"), fmt=fmt, audit=services().audit)  # fmt: skip


def _form(error=None, status=200):
    start, end = default_period(services().workflow.today())
    start = request.args.get("from") or start.isoformat()
    end = request.args.get("to") or end.isoformat()
    return render_template("reports/index.html", start=start, end=end, error=error), status


@bp.get("")
@roles_required("supervisor", "auditor")
def index():
    return _form()


@bp.get("/period")
@roles_required("supervisor", "auditor")
def period_page():
    try:
        report = _generate("web")
    except UsageError as exc:
        return _form(str(exc), 400)
    return render_template("reports/period.html", r=report, charts=render.charts(report),
                           tables=render.tables(report), query={"from": report["period"]["from"],
                                                                "to": report["period"]["to"]})  # fmt: skip


@bp.get("/period.<fmt>")
@roles_required("supervisor", "auditor")
def download(fmt: str):
    if fmt not in FORMATS:
        raise UsageError(f"format {fmt!r}: choose html, csv or json")
    try:
        report = _generate(fmt)
    except UsageError as exc:
        return _form(str(exc), 400)
    mimetype, make = FORMATS[fmt]
    name = f"fieldface-report-{report['period']['from']}-{report['period']['to']}.{fmt}"
    # An attachment: the HTML file carries its own <style>, which this site's CSP would block in-page.
    return Response(make(report), mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


# ---- policy settings --------------------------------------------------------------------------


def _kind(value) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, list):
        return "lines"
    if isinstance(value, dict):
        return "json"
    return "text"


def _form_value(key: str, text: str, kind: str):
    """The typed value of a form field: touch-friendly shapes (a line per item, yes/no) for JSON data."""
    if kind == "bool":
        return {"yes": True, "no": False}.get(text, text)
    if kind == "lines":
        return [line.strip() for line in text.splitlines() if line.strip()]
    if kind == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError:
            raise UsageError(f'policy: {key}: not JSON (e.g. {{"sharpness": [40, 12]}})') from None
    return parse_value(text.strip())


def _policy_page(error=None, status=200, changed=None):
    policy = Policy.load(services().store, _config())
    settings = [
        {"key": key, **item, "kind": _kind(item["value"]),
         "text": json.dumps(item["value"]) if _kind(item["value"]) == "json" else item["value"]}
        for key, item in policy.to_dict().items()
    ]  # fmt: skip
    page = render_template("reports/policy.html", settings=settings, error=error, changed=changed,
                           form=request.form if error else {}, may_change=current_user().has("supervisor"))  # fmt: skip
    return page, status


@bp.get("/policy")
@roles_required("supervisor", "auditor")
def policy():
    return _policy_page(changed=request.args.get("changed"))


@bp.post("/policy")
@roles_required("supervisor")
def policy_change():
    form, user = request.form, current_user()
    key = form.get("key", "")
    try:
        if key not in SETTINGS:
            raise UsageError(f"policy: unknown setting {key!r}")
        if form.get("action") == "reset":
            reset_setting(services().store, _config(), key, actor=user.username, role="supervisor",
                          reason=form.get("reason", ""), audit=services().audit)  # fmt: skip
        else:
            kind = _kind(Policy.load(services().store, _config()).value(key))
            value = _form_value(key, form.get("value", ""), kind)
            set_setting(services().store, _config(), key, value, actor=user.username, role="supervisor",
                        reason=form.get("reason", ""), audit=services().audit)  # fmt: skip
    except UsageError as exc:
        return _policy_page(str(exc), 400)
    return redirect(url_for("reports.policy", changed=key) + "#" + key.replace(".", "-"))


# ---- operational tests ------------------------------------------------------------------------


def _under_root(text: str, what: str, *, folder: bool) -> Path:
    """``text`` (relative to evaluation_root) as a resolved path that is still inside it."""
    root = Path(_config().reports.evaluation_root)
    text = (text or "").strip()
    if not text:
        raise UsageError(f"{what}: choose one below {root}")
    if Path(text).is_absolute() or ".." in Path(text).parts:
        raise UsageError(f"{what}: give a path inside {root}, without '..'")
    try:
        path = (root / text).resolve(strict=True)
    except (OSError, RuntimeError):
        raise UsageError(f"{what}: {text} does not exist below {root}") from None
    # resolve() follows symlinks: a link on the stick pointing at the data dir is refused here.
    if not path.is_relative_to(root.resolve()):
        raise UsageError(f"{what}: {text} leads outside {root}")
    if folder and not path.is_dir():
        raise UsageError(f"{what}: {text} is not a folder")
    if not folder and not path.is_file():
        raise UsageError(f"{what}: {text} is not a file")
    return path


def _choices() -> tuple[list[str], list[str]]:
    """Folders (two levels: stick, then set) and CSV files under the root, for the pickers."""
    root = Path(_config().reports.evaluation_root)
    if not root.is_dir():
        return [], []
    found, csvs = [], []
    for stick in _subfolders(root):
        found += [stick, *_subfolders(stick)]
    for folder in [root, *found]:
        try:
            csvs += [str(c.relative_to(root)) for c in sorted(folder.glob("*.csv")) if c.is_file()]
        except OSError:
            continue
    return [str(p.relative_to(root)) for p in found], csvs


def _subfolders(folder: Path) -> list[Path]:
    # An ext4 stick's lost+found (root only, mode 0700) must not break the page: skip what we cannot read.
    try:
        return [c for c in sorted(folder.iterdir()) if c.is_dir() and not c.name.startswith(".")]
    except OSError:
        return []


def _evaluations_page(error=None, status=200):
    folders, csvs = _choices()
    running = background.jobs(current_app).running()
    return render_template("reports/evaluations.html", evaluations=evaluate.load(services().store), folders=folders,
                           csvs=csvs, root=_config().reports.evaluation_root, far_choices=FAR_CHOICES,
                           top_k=Policy.load(services().store, _config()).top_k, running=running, error=error,
                           form=request.form, may_run=current_user().has("supervisor")), status  # fmt: skip


@bp.get("/evaluations")
@roles_required("supervisor", "auditor")
def evaluations():
    return _evaluations_page()


@bp.post("/evaluations")
@roles_required("supervisor")
def evaluation_start():
    form, config = request.form, _config()
    try:
        folder = _under_root(form.get("folder", ""), "photo folder", folder=True)
        groups = _under_root(form["subgroups"], "subgroup CSV", folder=False) if form.get("subgroups") else None
        if form.get("target_fmr", "0.001") not in FAR_CHOICES:
            raise UsageError(f"target false-match rate: choose one of {', '.join(FAR_CHOICES)}")
        top = int(form["top"]) if form.get("top", "").strip() else None
        if top is not None and not 1 <= top <= 200:
            raise UsageError("rank K: a whole number from 1 to 200")
        dataset = evaluate.read_dataset(folder, groups)
        if len(dataset.images) > config.reports.evaluation_max_images:
            raise UsageError(f"{len(dataset.images)} photos: the UI runs at most {config.reports.evaluation_max_images}"
                             " (reports.evaluation_max_images); use 'fieldface evaluate' for more")  # fmt: skip
    except ValueError:
        return _evaluations_page("rank K: a whole number from 1 to 200", 400)
    except OSError as exc:
        return _evaluations_page(f"photo folder: cannot read {exc.filename}: {exc.strerror or exc}", 400)
    except UsageError as exc:
        return _evaluations_page(str(exc), 400)
    svc, user, rec = services(), current_user(), recognizer()
    target_fmr = float(form.get("target_fmr", "0.001"))
    label = str(folder.relative_to(Path(config.reports.evaluation_root).resolve()))

    def work(job):
        def progress(done: int) -> None:
            job.done = done

        summary, _pictures, _embedded = run_operational_test(
            svc.store, config, rec, dataset, target_fmr=target_fmr, top=top, actor=user.username,
            role="supervisor", audit=svc.audit, progress=progress)  # fmt: skip
        job.result_id = summary["evaluation_id"]

    job = background.jobs(current_app).submit(user.username, label, len(dataset.images), work)
    if job is None:
        running = background.jobs(current_app).running()
        owner = running.owner if running else "someone"
        return _evaluations_page(f"an operational test is already running (by {owner}): wait for it", 409)
    return redirect(url_for("reports.job", job_id=job.id))


def _job(job_id: str):
    job = background.jobs(current_app).get(job_id)
    if job is None:
        abort(404, "no such operational test run (the unit restarted since, or it finished long ago)")
    return job


def _job_dict(job) -> dict:
    done = url_for("reports.evaluation", evaluation_id=job.result_id) if job.result_id else None
    return {"id": job.id, "state": job.state, "done": job.done, "total": job.total,
            "evaluation_id": job.result_id, "error": job.error, "next": done}  # fmt: skip


@bp.get("/evaluations/jobs/<job_id>")
@roles_required("supervisor")
def job(job_id: str):
    job = _job(job_id)
    if job.state == "done":
        return redirect(url_for("reports.evaluation", evaluation_id=job.result_id))
    return render_template("reports/job.html", job=job)


@bp.get("/evaluations/jobs/<job_id>.json")
@roles_required("supervisor")
def job_status(job_id: str):
    return jsonify(_job_dict(_job(job_id)))


@bp.get("/evaluations/<int:evaluation_id>")
@roles_required("supervisor", "auditor")
def evaluation(evaluation_id: int):
    found = evaluate.load(services().store, evaluation_id)
    if not found:
        abort(404, f"no operational test {evaluation_id}")
    summary = found[0]
    lines = evaluate.describe({**summary, "evaluation_id": evaluation_id})
    return render_template("reports/evaluation.html", s=summary, lines=lines)


@bp.get("/evaluations/<int:evaluation_id>/<any('det.png', 'scores.png'):name>")
@roles_required("supervisor", "auditor")
def picture(evaluation_id: int, name: str):
    data = evaluate.picture(services().store, evaluation_id, name)
    if data is None:
        abort(404, f"no operational test {evaluation_id}")
    return Response(data, mimetype="image/png")


def default_period(today: date) -> tuple[date, date]:
    """The month so far (the form's default); last month on its first day."""
    if today.day == 1:
        last = today - timedelta(days=1)
        return last.replace(day=1), last
    return today.replace(day=1), today
