"""``fieldface central ...``: the central store's door (init, units, media, verify, recovery).

``fieldface audit receive`` (device/commands/audit.py) is the MQTT door into the same store.
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path

from device.commands.output import emit
from device.errors import AuditError, UsageError


def register(sub) -> None:
    p = sub.add_parser("central", help="the central side: store, registered units, media, verify")
    p.add_argument("--store", type=Path, metavar="DIR", help="central store dir (default: central.store_dir)")
    central = p.add_subparsers(dest="central_command", metavar="ACTION")
    central.required = True

    central.add_parser("init", help="create (or migrate) the central store; PostgreSQL: also its roles").set_defaults(
        handler=cmd_init
    )
    unit = central.add_parser("unit", help="register units")
    unit_sub = unit.add_subparsers(dest="unit_command", metavar="ACTION")
    unit_sub.required = True
    add = unit_sub.add_parser("add", help="register a unit from its card (fieldface unit-card)")
    add.add_argument("card", type=Path, metavar="CARD")
    add.set_defaults(handler=cmd_unit_add)

    units = central.add_parser("units", help="every unit: last contact, online, verified head, epoch, backlog, rejects")
    units.add_argument("--json", action="store_true", help="print JSON")
    units.set_defaults(handler=cmd_units)

    rf = central.add_parser("receive-file", help="verify and store an audit export carried on removable media")
    rf.add_argument("file", type=Path, metavar="FILE")
    rf.set_defaults(handler=cmd_receive_file)

    v = central.add_parser("verify", help="re-check every unit's chain, signatures and heads; exit 6 naming problems")
    v.add_argument("--json", action="store_true", help="print JSON")
    v.set_defaults(handler=cmd_verify)

    r = central.add_parser("recovery", help="the entries a restored unit lost, for 'fieldface audit recover' on it")
    r.add_argument("unit", metavar="UNIT")
    r.add_argument("--epoch", type=int, help="default: the unit's latest epoch")
    r.add_argument("--output", "-o", type=Path, metavar="FILE", help="write here (default: stdout)")
    r.set_defaults(handler=cmd_recovery)

    from web.console.commands import register as register_console  # central serve | demo | user add

    register_console(central)

    from device.central.gallery.commands import register as register_gallery

    register_gallery(central)  # gallery authority (issue 16): gallery ..., agency-key


def open_central(ctx, args, create: bool = False):
    from device.central.store import CentralStore, backend_for

    return CentralStore(backend_for(ctx.config, getattr(args, "store", None), ctx.env, create), create=create)


def cmd_init(ctx, args) -> int:
    from device.central.roles import ensure_roles

    store = open_central(ctx, args, create=True)
    try:
        said = ensure_roles(store, ctx.config.central.writer_role, ctx.config.central.auditor_role)
        from device.central.console_roles import ensure_console_role

        said += ensure_console_role(
            store, ctx.config.console.role, ctx.config.central.auditor_role, ctx.config.central.writer_role
        )
        print(f"central store ready: {store.backend.where}")
        for line in said:
            print(f"  {line}")
    finally:
        store.close()
    return 0


def cmd_unit_add(ctx, args) -> int:
    from device.audit.card import read_card

    try:
        text = args.card.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {args.card}: {getattr(exc, 'strerror', None) or exc}") from None
    card = read_card(text)
    store = open_central(ctx, args)
    try:
        store.add_unit(
            card["unit"], card["name"], card["audit_key"], json.dumps(card, sort_keys=True), f"os:{getpass.getuser()}"
        )
    finally:
        store.close()
    print(f"registered unit {card['unit']} ({card['name']}), audit key {card['audit_key']}")
    return 0


def cmd_units(ctx, args) -> int:
    from device.central.units import fleet, lines

    store = open_central(ctx, args)
    try:
        units = fleet(store, ctx.config.central.offline_after_s)
    finally:
        store.close()
    emit({"units": units}, args.json, lines(units))
    return 0


def cmd_receive_file(ctx, args) -> int:
    from device.central.media import receive_file
    from device.central.verifier import Verifier

    store = open_central(ctx, args)
    try:
        unit, outcome = receive_file(Verifier(store), args.file)
    finally:
        store.close()
    epoch = f", epoch {outcome.epoch}" if outcome.epoch else ""
    print(f"{args.file}: unit {unit}: {outcome.stored} new entries stored, verified head {outcome.head_seq}{epoch}")
    if outcome.new_epoch is not None and outcome.new_epoch.lost_from is not None:
        e = outcome.new_epoch
        print(
            f"  restored unit: entries {e.lost_from}..{e.lost_to} were lost on it (kept here); hand them back with "
            f"'fieldface central recovery {unit} -o FILE' and 'fieldface audit recover FILE' on the unit"
        )
    return 0


def cmd_verify(ctx, args) -> int:
    from device.central.check import verify_central

    store = open_central(ctx, args)
    try:
        result = verify_central(store)
    finally:
        store.close()
    lines = []
    for unit, r in result.items():
        verdict = "ok" if not r["problems"] else f"{len(r['problems'])} problem(s)"
        lines.append(f"{unit}: {r['entries']} entries in {r['epochs']} epoch(s), head {r['head']}: {verdict}")
        lines += [f"  {p}" for p in r["problems"][:50]]
    emit({"ok": not any(r["problems"] for r in result.values()), "units": result}, args.json, lines)
    bad = [(u, r["problems"][0]) for u, r in result.items() if r["problems"]]
    if bad:
        raise AuditError(f"central store FAILED verification for {len(bad)} unit(s), first: {bad[0][0]}: {bad[0][1]}")
    return 0


def cmd_receive(ctx, args) -> int:
    """``fieldface audit receive``: the MQTT door into the same store."""
    from device.central.mqtt import run_receiver

    return run_receiver(ctx.config.receiver, open_central(ctx, args), once_idle=args.idle if args.once else None)


def cmd_recovery(ctx, args) -> int:
    from device.central.verifier import Verifier

    store = open_central(ctx, args)
    try:
        epochs = store.epochs(args.unit)
        if not epochs:
            raise UsageError(f"central holds nothing from unit {args.unit!r}")
        number = epochs[-1].epoch if args.epoch is None else args.epoch
        doc = Verifier(store).recovery(args.unit, number)
    finally:
        store.close()
    if doc is None:
        raise UsageError(f"epoch {number} of unit {args.unit} lost nothing central held: no recovery needed")
    data = json.dumps(doc, separators=(",", ":")).encode()
    if args.output:
        from device.fsutil import write_atomic

        write_atomic(args.output, data, mode=0o600)
        print(f"wrote {len(doc['entries'])} lost entries of unit {args.unit} to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(data.decode() + "\n")
    return 0
