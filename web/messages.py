"""The menu's count of waiting overrides, and confirmations after an action by message id: a
redirect carries ``?done=<id>``, never words.

The words live here, so a crafted link can at most pick one of these sentences (or none)."""

from __future__ import annotations

from flask import request

DONE = {
    "closed": "The examination was closed without a lead. The reason is recorded in the audit trail.",
    "override": "Quality override recorded. The examiner can now search this probe.",
    "user-added": "The account was added. Its user can log in now.",
    "user-changed": "The account was changed.",
    "lockout-cleared": "The lockout was cleared: the account can try to log in again.",
    "password-set": "The new password is set. The user's other sessions were ended.",
    "released": "The lead report was released.",
}


def overrides_waiting() -> list[int]:
    """For the supervisor's menu: examinations waiting for a quality override (called by the page)."""
    from web.auth import current_user
    from web.services import services

    user = current_user()
    return services().workflow.awaiting_override(user) if user is not None else []


def done_message() -> str | None:
    return DONE.get(request.args.get("done", ""))
