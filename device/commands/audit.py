"""``audit verify``, ``audit export``, ``audit pubkey``, ``audit receive``: the audit trail's doors."""

from __future__ import annotations

import sys
from pathlib import Path

from device.commands.output import emit
from device.errors import AuditError, UsageError

MAX_PROBLEM_LINES = 50


def register(sub) -> None:
    p = sub.add_parser("audit", help="verify, export and receive the tamper-evident audit log")
    audit = p.add_subparsers(dest="audit_command", metavar="ACTION")
    audit.required = True

    v = audit.add_parser("verify", help="check the chain and signatures; names each tampered entry")
    v.add_argument("--file", type=Path, metavar="EXPORT", help="verify an export file instead of the local log")
    v.add_argument("--public-key", metavar="HEX|@FILE", help="device public key (required with --file)")
    v.add_argument("--expect-head", metavar="SEQ[:HASH]", help="an outside anchor the log must still reach")
    v.add_argument("--json", action="store_true", help="print JSON")
    v.set_defaults(handler=cmd_verify)

    e = audit.add_parser("export", help="write entries as JSON lines that verify with the public key alone")
    e.add_argument("--after", type=int, default=0, metavar="SEQ", help="only entries after SEQ")
    e.add_argument("--output", "-o", type=Path, metavar="FILE", help="write here (default: stdout)")
    e.set_defaults(handler=cmd_export)

    k = audit.add_parser("pubkey", help="print this device's id and audit public key (for the receiver)")
    k.set_defaults(handler=cmd_pubkey)

    r = audit.add_parser("receive", help="central MQTT receiver: verify every unit's entries into the central store")
    r.add_argument("--store", type=Path, metavar="DIR", help="central store dir (default: central.store_dir)")
    r.add_argument("--once", action="store_true", help="stop after --idle seconds without traffic")
    r.add_argument("--idle", type=float, default=5.0, metavar="S", help="idle time that ends --once")
    r.set_defaults(handler=cmd_receive)

    rc = audit.add_parser("recover", help="on a restored unit: re-apply the erasures of the entries it lost")
    rc.add_argument("file", type=Path, metavar="FILE", help="written by 'fieldface central recovery UNIT -o FILE'")
    rc.set_defaults(handler=cmd_recover)


def _public_key_text(value: str) -> str:
    if value.startswith("@"):
        try:
            return Path(value[1:]).read_text("utf-8").split()[-1]
        except (OSError, IndexError):
            raise UsageError(f"cannot read a public key from {value[1:]}") from None
    return value


def _expect(value: str | None) -> tuple[int, str | None] | None:
    if not value:
        return None
    seq, _, hash_hex = value.partition(":")
    if not seq.isdigit() or (hash_hex and len(hash_hex) != 64):
        raise UsageError(f"--expect-head wants SEQ or SEQ:HASH (64 hex digits), got {value!r}")
    return int(seq), hash_hex or None


def cmd_verify(ctx, args) -> int:
    from device.audit import AuditLog, verify_store
    from device.audit.export import verify_export
    from device.audit.signing import parse_public_key

    if args.file:
        if not args.public_key:
            raise UsageError("audit verify --file needs --public-key (from a trusted place, not from the file)")
        key = parse_public_key(_public_key_text(args.public_key))
        try:
            with args.file.open(encoding="utf-8") as lines:
                report = verify_export(lines, key)
        except OSError as exc:
            raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
        what = str(args.file)
    else:
        log = AuditLog(ctx.store)
        key = parse_public_key(log.signer.public_key_hex)
        report = verify_store(log, key, _expect(args.expect_head))
        what = f"audit log of {report.device}"
    data = {
        "ok": report.ok,
        "device": report.device,
        "entries": report.entries,
        "head": {"seq": report.head_seq, "hash": report.head_hash},
        "signed_seq": report.signed_seq,
        "problems": [{"kind": p.kind, "seq": p.seq, "message": p.message} for p in report.problems],
    }
    lines = [f"{what}: {report.entries} entries, head {report.head_seq}:{report.head_hash}"]
    lines += [f"  {p}" for p in report.problems[:MAX_PROBLEM_LINES]]
    if len(report.problems) > MAX_PROBLEM_LINES:
        lines.append(f"  ... and {len(report.problems) - MAX_PROBLEM_LINES} more")
    emit(data, args.json, lines)
    if not report.ok:
        first = report.problems[0]
        raise AuditError(f"{what} FAILED verification: {len(report.problems)} problem(s), first: {first}")
    return 0


def cmd_export(ctx, args) -> int:
    from device.audit import AuditLog
    from device.audit.export import export

    if args.after < 0:
        raise UsageError("--after must be 0 or more")
    log = AuditLog(ctx.store)
    if args.output:
        import io

        from device.fsutil import write_atomic

        buf = io.StringIO()
        count, last = export(log, buf, args.after)
        write_atomic(args.output, buf.getvalue().encode(), mode=0o600)
        print(f"exported {count} entries (up to seq {last}) to {args.output}", file=sys.stderr)
    else:
        export(log, sys.stdout, args.after)
    return 0


def cmd_pubkey(ctx, args) -> int:
    from device.audit import AuditLog

    log = AuditLog(ctx.store)
    # The registry line format: "<device id> ed25519:<hex>", one device per line.
    print(f"{log.device_id} ed25519:{log.signer.public_key_hex}")
    return 0


def cmd_receive(ctx, args) -> int:
    # The receiver is central code (device/central), which no unit module imports: named as a
    # string, like the CLI's command modules, and loaded only when this command runs.
    import importlib

    return importlib.import_module("device.central.commands").cmd_receive(ctx, args)


def cmd_recover(ctx, args) -> int:
    import json

    from device.audit import AuditLog
    from device.sync.recovery import apply_recovery

    try:
        doc = json.loads(args.file.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise UsageError(f"cannot read a recovery from {args.file}: {getattr(exc, 'strerror', None) or exc}") from None
    log = AuditLog(ctx.store)
    try:
        done = apply_recovery(log, doc if isinstance(doc, dict) else {}, actor="cli:recover")
    finally:
        log.close()
    if done is None:
        print(f"{args.file}: already applied on this unit; nothing changed")
    else:
        print(
            f"{args.file}: {done['entries']} lost entries verified with this unit's key; {done['erasures']} "
            f"erasure(s) among them, {done['erased']} subject(s) erased again, {done['skipped']} already gone"
        )
    return 0
