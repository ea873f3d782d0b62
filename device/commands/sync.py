"""``sync``: deliver audit entries to the central receiver (long-lived, or ``--once``); ``unit-card``."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("sync", help="send audit entries to the central receiver until stopped")
    p.add_argument("--once", action="store_true", help="deliver the backlog, wait for its acks, then exit")
    p.add_argument("--timeout", type=float, default=300.0, metavar="S", help="give up --once after S seconds")
    p.set_defaults(handler=cmd_sync)

    c = sub.add_parser("unit-card", help="this unit's card for central: id, name, audit public key (signed)")
    c.add_argument("--output", "-o", type=Path, metavar="FILE", help="write here (default: stdout)")
    c.set_defaults(handler=cmd_unit_card)


def cmd_sync(ctx, args) -> int:
    from device.audit import AuditLog
    from device.sync.service import run_publisher

    return run_publisher(AuditLog(ctx.store), ctx.config.sync, once_timeout=args.timeout if args.once else None)


def cmd_unit_card(ctx, args) -> int:
    from device.audit import AuditLog
    from device.audit.card import make_card
    from device.gallery.central import bundle_key

    log = AuditLog(ctx.store)
    try:
        card = make_card(log, ctx.config.device.name, bundle_key(ctx.store))
    finally:
        log.close()
    text = json.dumps(card, indent=1, sort_keys=True) + "\n"
    if args.output:
        from device.fsutil import write_atomic

        write_atomic(args.output, text.encode(), mode=0o644)
        print(f"wrote the card of unit {card['unit']} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
