"""``user add|list|disable|set-password|set-training``: accounts of the review UI, from the console.

For a unit set up without the touchscreen, or a supervisor locked out. Every change goes through
device/workflow/users.py, the same rules and audit entries as the UI's user screens; the console
acts as a supervisor named ``cli:<login>`` in the audit log (see ``console_user``). Passwords are
typed twice at the terminal, never on the command line (it lands in shell history and ``ps``);
``--password-file`` is for scripts.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

from device.commands.output import emit
from device.errors import UsageError


def register(sub) -> None:
    p = sub.add_parser("user", help="accounts of the review UI: add, list, disable, password, training")
    usub = p.add_subparsers(dest="user_command", metavar="ACTION")
    usub.required = True

    a = usub.add_parser("add", help="create an account (password asked twice, or --password-file)")
    a.add_argument("name", metavar="NAME", help="login name: 2-32 of a-z 0-9 . _ -")
    a.add_argument("--role", action="append", required=True, metavar="ROLE",
                   help="examiner, reviewer, supervisor or auditor; repeat for several")  # fmt: skip
    a.add_argument("--training-valid-until", metavar="DATE", help="YYYY-MM-DD; without it the user cannot search")
    a.add_argument("--display-name", metavar="TEXT", help="shown in the UI and reports (default: NAME)")
    a.add_argument("--password-file", type=Path, metavar="PATH", help="read the password from this file's first line")
    a.set_defaults(handler=cmd_add)

    ls = usub.add_parser("list", help="every account with its roles, training date and state")
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(handler=cmd_list)

    d = usub.add_parser("disable", help="disable an account and end its sessions (kept for the audit trail)")
    d.add_argument("name", metavar="NAME")
    d.set_defaults(handler=cmd_disable)

    s = usub.add_parser("set-password", help="set a new password; ends the user's sessions and lockout")
    s.add_argument("name", metavar="NAME")
    s.add_argument("--password-file", type=Path, metavar="PATH", help="read the password from this file's first line")
    s.set_defaults(handler=cmd_set_password)

    t = usub.add_parser("set-training", help="record the date the user's training is valid until")
    t.add_argument("name", metavar="NAME")
    t.add_argument("date", metavar="DATE", help="YYYY-MM-DD")
    t.set_defaults(handler=cmd_set_training)


def _password(name: str, path: Path | None) -> str:
    if path is not None:
        from device.commands.identity import read_password_file

        return read_password_file(path)
    if sys.stdin is None or not sys.stdin.isatty():
        raise UsageError("no terminal to type the password on: use --password-file PATH")
    first = getpass.getpass(f"New password for {name}: ")
    if getpass.getpass("Repeat the password: ") != first:
        raise UsageError("the two passwords differ; nothing was changed")
    return first


class _Accounts:
    """The store, its audit log and the console actor for one command."""

    def __init__(self, ctx):
        from device.audit import AuditLog
        from device.workflow.users import console_user

        self.ctx = ctx
        self.store = ctx.store
        self.audit = AuditLog(self.store)
        self.by = console_user(getpass.getuser())

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.audit.close()

    def target(self, name: str):
        from device.workflow.users import require_user

        with self.store.connection() as conn:
            return require_user(conn, name)


def cmd_add(ctx, args) -> int:
    from device.workflow.users import create_user, find_user, system_now

    with _Accounts(ctx) as acc:
        with acc.store.connection() as conn:  # before the prompt: no typing a password for nothing
            if find_user(conn, args.name.strip().lower()):
                raise UsageError(f"there is already a user {args.name!r}")
        password = _password(args.name, args.password_file)
        user = create_user(acc.store, acc.audit, ctx.config, acc.by, args.name, args.display_name or "", password,
                           args.role, args.training_valid_until, system_now())  # fmt: skip
    training = user.training_valid_until or "not recorded (cannot search or review)"
    print(f"added {user.username} ({', '.join(sorted(user.roles))}); training valid until {training}")
    return 0


def cmd_list(ctx, args) -> int:
    from device.workflow.users import list_users

    with ctx.store.connection() as conn:
        users = list_users(conn)
    lines = [f"{'NAME':<20} {'ROLES':<34} {'TRAINING':<11} STATE"]
    for u in users:
        state = "active" if u.active else "disabled"
        lines.append(f"{u.username:<20} {','.join(sorted(u.roles)):<34} {u.training_valid_until or '-':<11} {state}")
    if not users:
        lines = ["no users yet: add the first supervisor with 'fieldface user add NAME --role supervisor'"]
    emit({"users": [u.to_dict() for u in users]}, args.json, lines)
    return 0


def cmd_disable(ctx, args) -> int:
    from device.workflow.users import update_user

    with _Accounts(ctx) as acc:
        target = acc.target(args.name)
        if not target.active:
            print(f"{target.username} is already disabled")
            return 0
        update_user(acc.store, acc.audit, acc.by, target.id, active=False)
    print(f"disabled {target.username}; their sessions are ended")
    return 0


def cmd_set_password(ctx, args) -> int:
    from device.workflow.users import set_password

    with _Accounts(ctx) as acc:
        target = acc.target(args.name)
        password = _password(target.username, args.password_file)
        set_password(acc.store, acc.audit, ctx.config, acc.by, target.id, password)
    print(f"password of {target.username} set; their sessions and any lockout are ended")
    return 0


def cmd_set_training(ctx, args) -> int:
    from device.workflow.users import update_user

    if not args.date.strip():
        raise UsageError("set-training needs a date (YYYY-MM-DD)")
    with _Accounts(ctx) as acc:
        target = acc.target(args.name)
        user = update_user(acc.store, acc.audit, acc.by, target.id, training_valid_until=args.date, config=ctx.config)
    print(f"training of {user.username} valid until {user.training_valid_until}")
    return 0
