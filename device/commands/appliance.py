"""``camera``, ``lock``, ``unlock``, ``wipe``, ``wait-unlocked``: the appliance as an operator sees it."""

from __future__ import annotations

import getpass
import sys
import time
from pathlib import Path

from device.commands.output import emit
from device.errors import LockedError, UsageError


def register(sub) -> None:
    p = sub.add_parser("camera", help="the unit's camera: take a still, check the camera")
    csub = p.add_subparsers(dest="camera_command", metavar="ACTION")
    csub.required = True
    s = csub.add_parser("snapshot", help="take one full-resolution still and save it as JPEG")
    s.add_argument("--out", type=Path, required=True, metavar="PATH", help="where to write the JPEG")
    s.set_defaults(handler=cmd_snapshot)
    s = csub.add_parser("check", help="open the camera, grab a preview frame, report its state")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(handler=cmd_check)

    p = sub.add_parser("lock", help="lock the box now: every process drops its keys until a passphrase unlocks it")
    p.add_argument("--reason", default="operator", choices=["operator", "tamper"], help="recorded in the audit log")
    p.set_defaults(handler=cmd_lock)

    p = sub.add_parser("unlock", help="end a lock with the passphrase (or --key-file)")
    p.add_argument("--key-file", type=Path, metavar="PATH", help="read the secret from this file instead of a prompt")
    p.set_defaults(handler=cmd_unlock)

    p = sub.add_parser("wipe", help="PANIC WIPE: crypto-erase the data dir; it can never be decrypted again")
    p.add_argument("--yes", action="store_true", help="do not ask; required when not on a terminal")
    p.add_argument("--upstream-timeout", type=float, metavar="S",
                   help="wait S s for the wipe's audit entry to reach the central side (default: config)")  # fmt: skip
    p.set_defaults(handler=cmd_wipe)

    p = sub.add_parser("wait-unlocked", help="wait while the box is locked (for a unit's ExecStartPre=)")
    p.add_argument("--timeout", type=float, metavar="S", help="give up after S seconds (exit 3)")
    p.set_defaults(handler=cmd_wait_unlocked)


def _appliance(ctx):
    from device.service import Appliance

    return Appliance(ctx.data_dir, ctx.config, env=ctx.env)


def _camera(ctx):
    from device.camera import open_camera

    return open_camera(ctx.config.camera)


def cmd_snapshot(ctx, args) -> int:
    from device.fsutil import write_atomic

    with _camera(ctx) as camera:
        still = camera.capture_still()
    write_atomic(args.out, still.jpeg(ctx.config.camera.still_jpeg_quality), mode=0o600)
    print(f"{args.out}: {still.size[0]}x{still.size[1]} from {still.source}")
    return 0


def cmd_check(ctx, args) -> int:
    from device.camera.base import CameraUnavailable

    with _camera(ctx) as camera:
        try:
            frame = len(camera.preview_jpeg())
        except CameraUnavailable:
            frame = 0
        data = {**camera.status(), "preview_jpeg_bytes": frame}
    emit(data, args.json, [f"camera {data['type']}: {data['state']} ({data['detail']})"])
    return 0 if data["state"] == "ok" else 8


def cmd_lock(ctx, args) -> int:
    appliance = _appliance(ctx)
    appliance.start()  # with keys, the lock is audited now; without, at the next unlock
    audited_now = not appliance.locked
    appliance.lock(args.reason, actor=f"os:{getpass.getuser()}")
    print(f"locked ({args.reason}){'' if audited_now else '; audited at the next unlock'}")
    return 0


def cmd_unlock(ctx, args) -> int:
    appliance = _appliance(ctx)
    if args.key_file:
        try:
            secret = args.key_file.read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise LockedError(f"key file {args.key_file}: cannot read: {exc.strerror}") from None
    elif sys.stdin is not None and sys.stdin.isatty():
        secret = getpass.getpass("fieldface passphrase: ").encode("utf-8")
    else:
        # The credential unseals itself at boot: accepting it here would make a tamper lock a no-op.
        raise LockedError("unlock needs the passphrase typed on a terminal, or --key-file")
    was = appliance.lockdown.read()
    appliance.unlock(secret, actor=f"os:{getpass.getuser()}", source="key file" if args.key_file else "passphrase")
    print(f"unlocked{' (was locked: ' + was['reason'] + ')' if was else ''}")
    return 0


def cmd_wipe(ctx, args) -> int:
    if not args.yes:
        if not (sys.stdin is not None and sys.stdin.isatty()):
            raise UsageError("wipe: add --yes (nothing was erased)")
        if input(f"crypto-erase {ctx.data_dir}? It can never be decrypted again. Type WIPE: ") != "WIPE":
            raise UsageError("wipe: not confirmed; nothing was erased")
    appliance = _appliance(ctx)
    appliance.start()
    timeout = ctx.config.hooks.wipe_upstream_timeout_s if args.upstream_timeout is None else args.upstream_timeout
    report = appliance.wipe(actor=f"os:{getpass.getuser()}", upstream_timeout_s=timeout,
                            extra_files=ctx.config.hooks.wipe_files)  # fmt: skip
    yes_no = {True: "yes", False: "no"}
    print(f"crypto-erased {ctx.data_dir}: destroyed {', '.join(report['destroyed']) or 'nothing'}; "
          f"audited {yes_no[report['audited']]}, upstream {yes_no[report['upstream']]}")  # fmt: skip
    return 0


def cmd_wait_unlocked(ctx, args) -> int:
    from device.service import Lockdown

    lockdown = Lockdown(ctx.data_dir)
    deadline = None if args.timeout is None else time.monotonic() + args.timeout
    while lockdown.engaged:
        if deadline is not None and time.monotonic() > deadline:
            raise LockedError(f"still locked after {args.timeout:g} s")
        time.sleep(ctx.config.hooks.poll_s)
    return 0
