"""``fieldface gallery trust|import|fetch``: a unit accepts the agency's key, and applies a bundle or an
erasure order carried on removable media (the same applier as the MQTT delivery:
device/gallery/central.py)."""

from __future__ import annotations

import getpass
from pathlib import Path

from device.commands.output import emit
from device.errors import UsageError
from device.fsutil import read_user_file

MAX_FILE = 8 << 30


def register(sub) -> None:
    p = sub.add_parser("gallery", help="galleries the agency publishes: trust its key, import bundles and orders")
    g = p.add_subparsers(dest="gallery_command", metavar="ACTION")
    g.required = True
    t = g.add_parser("trust", help="accept bundles and erasure orders signed by this agency key (provisioning)")
    t.add_argument("file", type=Path, metavar="FILE", help="the line 'fieldface central agency-key' printed")
    t.set_defaults(handler=cmd_trust)
    i = g.add_parser("import", help="verify and apply a bundle or an erasure order from removable media")
    i.add_argument("file", type=Path, metavar="FILE")
    i.add_argument("--json", action="store_true", help="print JSON")
    i.set_defaults(handler=cmd_import)
    f = g.add_parser("fetch", help="apply the erasure orders and newer bundles retained on the MQTT broker, then exit")
    f.add_argument("--idle", type=float, default=5.0, metavar="S", help="stop after S seconds with nothing new")
    f.add_argument("--json", action="store_true", help="print JSON")
    f.set_defaults(handler=cmd_fetch)


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def cmd_trust(ctx, args) -> int:
    from device.audit import AuditLog
    from device.clock import system_now, utc
    from device.gallery.central import trust

    try:
        text = read_user_file(args.file, "agency key file", UsageError).decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{args.file}: not an agency key line") from None
    audit = AuditLog(ctx.store)
    try:
        key = trust(ctx.store, text, _actor(), utc(system_now()), audit)
    finally:
        audit.close()
    print(f"this unit now accepts bundles and erasure orders signed by {key}")
    return 0


def outcome_lines(out) -> list[str]:
    lines = [
        f"erasure order {o['order']}: {o['subjects']} subject(s) erased; proof: audit entry seq {o['seq']} "
        f"hash {o['hash']}" + ("" if o["new"] else " (applied before)")
        for o in out.orders
    ]
    if out.orders_only:
        lines.append(
            f"gallery {out.gallery} already at agency version {out.version} (restored unit): its orders applied, "
            f"its content kept; state digest {out.digest}; restore gate updated at audit seq {out.ack_seq}"
        )
    elif out.kind == "bundle":
        lines.append(
            f"gallery {out.gallery} now at agency version {out.version}: {out.added} added, {out.changed} changed, "
            f"{out.removed} removed; state digest {out.digest}; acknowledged at audit seq {out.ack_seq}"
        )
    return lines


def _progress():
    """A progress line per phase on stderr (device/commands/progress.py)."""
    from device.commands.progress import ProgressBar

    bars: dict = {}

    def show(phase: str, done: int, total: int) -> None:
        if total > 1:
            bars.setdefault(phase, ProgressBar(total, f"{phase} subjects")).update(done)

    return show


def cmd_import(ctx, args) -> int:
    from device.commands.gallery import gallery_service
    from device.gallery.central import apply_file

    try:
        if args.file.stat().st_size > MAX_FILE:
            raise UsageError(f"{args.file} is larger than {MAX_FILE >> 30} GiB: not a bundle")
    except OSError as exc:
        raise UsageError(f"{args.file}: {exc.strerror}") from None
    data = read_user_file(args.file, "bundle", UsageError)
    gallery = gallery_service(ctx)
    out = apply_file(gallery, data, _actor(), str(args.file), _progress())
    emit(out.__dict__, args.json, outcome_lines(out))
    return 0


def cmd_fetch(ctx, args) -> int:
    from device.commands.gallery import gallery_service
    from device.gallery.delivery import fetch

    if not 0.1 <= args.idle <= 3600:
        raise UsageError("--idle must be 0.1 to 3600 seconds")
    gallery = gallery_service(ctx)
    got = fetch(gallery, ctx.config.sync.broker, ctx.config.sync.gallery_prefix, _actor(), idle_s=args.idle)
    lines = []
    for kind, out in got:
        if kind == "order":
            lines.append(f"erasure order {out['order']}: {out['subjects']} subject(s) erased; proof: audit entry seq "
                         f"{out['seq']} hash {out['hash']}")  # fmt: skip
        else:
            lines += outcome_lines(out)
    emit({"applied": [o if k == "order" else o.__dict__ for k, o in got]}, args.json, lines or ["nothing new"])
    return 0
