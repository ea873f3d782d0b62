"""Who a command acts as: the console (``cli:<login>``) or, with ``--user``, a named account.

Whoever unlocks the store on the console holds every key already, so maintenance commands
(enroll, delete-subject, purge, policy) act for them as ``cli:<login>``. ``--user LOGIN`` makes a
command act as that account instead: the password is checked like a UI login (lockout and audit
included) and the account's roles apply. ``fieldface search`` always needs it: a search is made by
a named, trained user, through the same workflow entry point as the touchscreen.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

from device.errors import UsageError


def add_user_options(parser, required: bool = False) -> None:
    what = "the account searching (required)" if required else "act as this account instead of cli:<login>"
    parser.add_argument("--user", metavar="LOGIN", required=required, help=what)
    parser.add_argument("--password-file", type=Path, metavar="PATH", help="read --user's password from this file")


def read_password_file(path: Path) -> str:
    try:
        lines = path.read_text("utf-8").splitlines()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not UTF-8 text") from None
    if not lines or not lines[0]:
        raise UsageError(f"{path}: the first line (the password) is empty")
    return lines[0]


def _password(login: str, path: Path | None) -> str:
    if path is not None:
        return read_password_file(path)
    if sys.stdin is None or not sys.stdin.isatty():
        raise UsageError("no terminal to type the password on: use --password-file PATH")
    return getpass.getpass(f"Password for {login}: ")


def workflow(ctx, with_recognizer: bool = True):
    """The workflow over this command's store (one per command); the models are loaded only
    when the command analyses pictures."""
    from device.commands.gallery import gallery_service
    from device.workflow import Workflow

    gallery = gallery_service(ctx, with_recognizer)
    return Workflow(ctx.store, gallery.audit, gallery, ctx.config, runtime_dir=ctx.config.hooks.runtime_dir)


def sign_in(wf, login: str, password_file: Path | None):
    """The account ``login`` after its password was checked (AuthError otherwise, exit 9)."""
    _token, session = wf.login(login, _password(login, password_file))
    wf.logout(session, "cli command done")  # no session outlives the command
    return session.user


def actor(ctx, args, role: str, wf=None):
    """The Actor the audit names: ``cli:<login>`` as ``role``, or the ``--user`` account, which
    must hold ``role`` (NotAllowedError, exit 10)."""
    from device.gallery import Actor
    from device.workflow.users import require_role

    if not getattr(args, "user", None):
        if getattr(args, "password_file", None):
            raise UsageError("--password-file goes with --user LOGIN")
        return Actor(f"cli:{getpass.getuser()}", role)
    user = sign_in(wf or workflow(ctx, with_recognizer=False), args.user, args.password_file)
    require_role(user, role)
    return Actor(user.username, role)
