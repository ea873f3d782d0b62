"""``sync``: deliver audit entries to the central receiver (long-lived, or ``--once``)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("sync", help="send audit entries to the central receiver until stopped")
    p.add_argument("--once", action="store_true", help="deliver the backlog, wait for its acks, then exit")
    p.add_argument("--timeout", type=float, default=300.0, metavar="S", help="give up --once after S seconds")
    p.set_defaults(handler=cmd_sync)


def cmd_sync(ctx, args) -> int:
    from device.audit import AuditLog
    from device.sync.service import run_publisher

    return run_publisher(AuditLog(ctx.store), ctx.config.sync, once_timeout=args.timeout if args.once else None)
