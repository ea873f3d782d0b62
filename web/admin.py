"""User administration (supervisors): accounts, roles, training dates, lockouts, passwords."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from device.errors import FieldfaceError, UsageError
from device.workflow import ROLES
from web.auth import current_user, roles_required
from web.services import services

bp = Blueprint("admin", __name__, url_prefix="/admin")


def _page(error=None, form=None, status=200):
    users = services().workflow.list_users(current_user())
    return render_template("admin/users.html", users=users, roles=ROLES, error=error, form=form or {}), status


@bp.get("/users")
@roles_required("supervisor")
def users():
    return _page()


@bp.post("/users")
@roles_required("supervisor")
def create():
    f = request.form
    try:
        fields = (f.get("username", ""), f.get("display_name", ""), f.get("password", ""), f.getlist("roles"))
        services().workflow.create_user(current_user(), *fields, f.get("training_valid_until"))
    except UsageError as exc:
        return _page(str(exc), f, 400)
    return redirect(url_for("admin.users", done="user-added"))


@bp.post("/users/<int:user_id>")
@roles_required("supervisor")
def update(user_id: int):
    f, wf, me = request.form, services().workflow, current_user()
    try:
        action = f.get("action")
        if action == "unlock":
            wf.clear_lockout(me, user_id)
        elif action == "password":
            wf.set_password(me, user_id, f.get("password", ""))
        else:
            wf.update_user(me, user_id, roles=f.getlist("roles"), training_valid_until=f.get("training_valid_until"),
                           active=f.get("active") == "1")  # fmt: skip
    except FieldfaceError as exc:
        return _page(str(exc), None, 403 if not isinstance(exc, UsageError) else 400)
    done = {"unlock": "lockout-cleared", "password": "password-set"}.get(action, "user-changed")
    return redirect(url_for("admin.users", done=done))
