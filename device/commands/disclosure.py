"""``fieldface package``: make a disclosure package, check one, seal one to its recipient.

    package CASE [--exam N] [--unredacted] [--recipient x25519:HEX|@FILE] -o FILE
    package verify FILE --public-key @unit.pub     offline: the package and the unit's public key
    package keygen -o recipient.key                a recipient's key pair (prints the public half)
    package open FILE.sealed --key @recipient.key -o case.zip

One parser for every form (argparse cannot mix a positional CASE with sub-commands): the words
``verify``, ``keygen`` and ``open`` in the CASE position select the others, which need no store
and no key of the unit.
"""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

from device.commands import identity
from device.commands.audit import MAX_PROBLEM_LINES, _public_key_text
from device.commands.identity import add_user_options
from device.commands.output import emit
from device.errors import AuditError, UsageError


def register(sub) -> None:
    p = sub.add_parser(
        "package",
        help="the signed disclosure package of a case (or: package verify FILE --public-key @unit.pub)",
        description="Make the disclosure package of a released case examination (lead report PDF, images, every "
        "candidate, policy, operational tests, audit proof, signed manifest), or check one offline.",
        epilog="forms: package CASE [--exam N] [--unredacted] [--recipient KEY] -o FILE | package verify FILE "
        "--public-key @unit.pub | package keygen -o FILE | package open FILE.sealed --key @FILE -o FILE",
    )
    p.add_argument("case", metavar="CASE|verify|keygen|open", help="the case number; or what to do with a FILE")
    p.add_argument("file", nargs="?", type=Path, metavar="FILE", help="with verify and open: the package")
    p.add_argument("--exam", type=int, metavar="N", help="the examination, when the case has several")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="where to write the package (.zip)")
    redaction = p.add_mutually_exclusive_group()
    redaction.add_argument("--redacted", dest="redacted", action="store_true", default=True,
                           help="withhold candidates other than the lead (the default)")  # fmt: skip
    redaction.add_argument("--unredacted", dest="redacted", action="store_false",
                           help="every candidate's face and name (only for the roles the policy names)")  # fmt: skip
    p.add_argument("--public-key", metavar="HEX|@FILE", help="with verify: the unit's public key, from a trusted place")
    p.add_argument("--recipient", metavar="x25519:HEX|@FILE", help="seal the package to this recipient's key")
    p.add_argument("--key", metavar="@FILE", help="with open: the recipient's private key file")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_user_options(p)
    p.set_defaults(handler=cmd_package)


def cmd_package(ctx, args) -> int:
    if args.case in ("verify", "keygen", "open"):
        return {"verify": _verify, "keygen": _keygen, "open": _open}[args.case](args)
    if args.file is not None or args.public_key or args.key:
        raise UsageError("package CASE takes -o FILE; FILE, --public-key and --key belong to verify and open")
    if args.output is None:
        raise UsageError("package CASE needs -o FILE (the package is written there, mode 0600)")
    if args.exam is not None and args.exam < 1:
        raise UsageError("--exam: an examination number (1 or more)")
    from device.disclosure import make_package
    from device.disclosure.seal import parse_recipient
    from device.fsutil import write_atomic
    from device.workflow.users import console_user

    recipient = parse_recipient(_key_text(args.recipient)) if args.recipient else None
    wf = identity.workflow(ctx)
    if args.user:
        user = identity.sign_in(wf, args.user, args.password_file)
    elif args.password_file:
        raise UsageError("--password-file goes with --user LOGIN")
    else:
        user = console_user(getpass.getuser())
    package = make_package(wf, user, args.case, args.exam, redacted=args.redacted, recipient=recipient)
    write_atomic(args.output, package.data, mode=0o600)
    what = "redacted" if args.redacted else "UNREDACTED (holds every candidate's face and name)"
    data = {"file": str(args.output), "sha256": package.sha256, "bytes": len(package.data), "redacted": args.redacted,
            "examination": package.manifest["examination"], "audit_seq": package.audit_seq}  # fmt: skip
    emit(data, args.json, [f"package of case {args.case!r}, examination {package.manifest['examination']}, {what}",
                           f"written to {args.output}: {len(package.data)} bytes; package sha256 {package.sha256}",
                           f"recorded as audit entry {package.audit_seq}",
                           f"sealed to {args.recipient}: 'fieldface package open' with the recipient's key opens it"
                           if recipient else "the archive is NOT encrypted: it holds faces; carry it only on encrypted "
                           "media, or make it with --recipient (README: the disclosure package)"])  # fmt: skip
    return 0


def _verify(args) -> int:
    from device.audit.signing import parse_public_key
    from device.disclosure import verify_package

    if args.file is None:
        raise UsageError("package verify needs the package FILE")
    if not args.public_key:
        raise UsageError("package verify needs --public-key (from a trusted place, not from the package)")
    if not args.file.is_file():
        raise UsageError(f"no package at {args.file}")
    report = verify_package(args.file, parse_public_key(_public_key_text(args.public_key)))
    m = report.manifest
    head = (f"{args.file}: case {m.get('case')!r}, examination {m.get('examination')}, unit {m.get('device')!r}, "
            f"{'redacted' if m.get('redacted') else 'unredacted'}{', EXAMPLE' if m.get('example') else ''}; "
            f"{report.files} files, {report.audit_entries} audit entries")  # fmt: skip
    lines = [head] + [f"  {f}" for f in report.findings[:MAX_PROBLEM_LINES]]
    if len(report.findings) > MAX_PROBLEM_LINES:
        lines.append(f"  ... and {len(report.findings) - MAX_PROBLEM_LINES} more")
    if report.ok:
        lines.append("  ok: every file matches the signed manifest, and the audit entries prove out")
    findings = [{"kind": f.kind, "where": f.where, "message": f.message} for f in report.findings]
    data = {"ok": report.ok, "manifest": m, "files": report.files, "audit_entries": report.audit_entries,
            "findings": findings}  # fmt: skip
    emit(data, args.json, lines)
    if not report.ok:
        raise AuditError(f"{args.file} FAILED verification: {len(report.findings)} problem(s), first: "
                         f"{report.findings[0]}")  # fmt: skip
    return 0


def _key_text(value: str) -> str:
    if value.startswith("@"):
        try:
            return Path(value[1:]).read_text("utf-8")
        except (OSError, UnicodeDecodeError):
            raise UsageError(f"cannot read a key from {value[1:]}") from None
    return value


def _keygen(args) -> int:
    from device.disclosure.seal import keygen
    from device.fsutil import write_atomic

    if args.output is None:
        raise UsageError("package keygen needs -o FILE for the private key (mode 0600; keep it with the recipient)")
    if args.output.exists():
        raise UsageError(f"{args.output} exists: a key is never overwritten")
    private, public = keygen()
    write_atomic(args.output, private.encode(), mode=0o600)
    print(public)
    print(f"private key written to {args.output}; give the line above to the unit's operator (--recipient)",
          file=sys.stderr)  # fmt: skip
    return 0


def _open(args) -> int:
    from device.disclosure.seal import open_sealed, parse_private
    from device.fsutil import write_atomic

    if args.file is None or args.output is None or not args.key:
        raise UsageError("package open needs the sealed FILE, --key @FILE and -o FILE")
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {args.file}: {exc.strerror}") from None
    package = open_sealed(data, parse_private(_key_text(args.key)))
    write_atomic(args.output, package, mode=0o600)
    print(f"opened: {args.output} ({len(package)} bytes); check it with 'fieldface package verify'", file=sys.stderr)
    return 0
