"""Confirmations after an action, by message id: a redirect carries ``?done=<id>``, never words.

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


def done_message() -> str | None:
    return DONE.get(request.args.get("done", ""))
