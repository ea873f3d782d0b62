"""``fieldface package CASE [--exam N] -o FILE`` and ``fieldface package verify FILE --public-key @unit.pub``.

One parser for both forms (argparse cannot mix a positional CASE with sub-commands): the word
``verify`` in the CASE position selects the check, which needs no store and no key of the unit,
only the package and the public key (``fieldface audit pubkey`` prints it on the unit).
"""

from __future__ import annotations

import getpass
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
    )
    p.add_argument("case", metavar="CASE|verify", help="the case number; or 'verify' to check a package FILE")
    p.add_argument("file", nargs="?", type=Path, metavar="FILE", help="with verify: the package to check")
    p.add_argument("--exam", type=int, metavar="N", help="the examination, when the case has several")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="where to write the package (.zip)")
    redaction = p.add_mutually_exclusive_group()
    redaction.add_argument("--redacted", dest="redacted", action="store_true", default=True,
                           help="withhold candidates other than the lead (the default)")  # fmt: skip
    redaction.add_argument("--unredacted", dest="redacted", action="store_false",
                           help="every candidate's face and name (only for the roles the policy names)")  # fmt: skip
    p.add_argument("--public-key", metavar="HEX|@FILE", help="with verify: the unit's public key, from a trusted place")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_user_options(p)
    p.set_defaults(handler=cmd_package)


def cmd_package(ctx, args) -> int:
    if args.case == "verify":
        return _verify(args)
    if args.file is not None or args.public_key:
        raise UsageError("package CASE takes -o FILE; FILE and --public-key belong to 'package verify'")
    if args.output is None:
        raise UsageError("package CASE needs -o FILE (the package is written there, mode 0600)")
    if args.exam is not None and args.exam < 1:
        raise UsageError("--exam: an examination number (1 or more)")
    from device.disclosure import make_package
    from device.fsutil import write_atomic
    from device.workflow.users import console_user

    wf = identity.workflow(ctx)
    if args.user:
        user = identity.sign_in(wf, args.user, args.password_file)
    elif args.password_file:
        raise UsageError("--password-file goes with --user LOGIN")
    else:
        user = console_user(getpass.getuser())
    package = make_package(wf, user, args.case, args.exam, redacted=args.redacted)
    write_atomic(args.output, package.data, mode=0o600)
    what = "redacted" if args.redacted else "UNREDACTED (holds every candidate's face and name)"
    data = {"file": str(args.output), "sha256": package.sha256, "bytes": len(package.data), "redacted": args.redacted,
            "examination": package.manifest["examination"], "audit_seq": package.audit_seq}  # fmt: skip
    emit(data, args.json, [f"package of case {args.case!r}, examination {package.manifest['examination']}, {what}",
                           f"written to {args.output}: {len(package.data)} bytes, sha256 {package.sha256}",
                           f"recorded as audit entry {package.audit_seq}",
                           "the archive is NOT encrypted: it holds faces; carry it only on encrypted media or "
                           "encrypted to its recipient (README: the disclosure package)"])  # fmt: skip
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
