"""``policy``, ``report`` and ``evaluate``: the accountability door of the CLI."""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

from device.commands import identity
from device.commands.identity import add_user_options
from device.commands.output import emit
from device.commands.progress import ProgressBar
from device.errors import UsageError


def register(sub) -> None:
    p = sub.add_parser("policy", help="show or change the agency policy (offences, K, line, retention, ...)")
    psub = p.add_subparsers(dest="policy_command", metavar="ACTION")
    psub.required = True
    q = psub.add_parser("show", help="every setting, its value and whether a supervisor changed it")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=cmd_policy_show)
    q = psub.add_parser("set", help="change one setting (recorded in the audit log)")
    q.add_argument("key", metavar="KEY", help="e.g. search.top_k, search.offense_categories, vision.quality")
    q.add_argument("value", metavar="VALUE", help='JSON (25, true, ["a","b"], {"sharpness":[40,12]}) or a word')
    q.add_argument("--reason", required=True, help="why (recorded)")
    add_user_options(q)
    q.set_defaults(handler=cmd_policy_set)
    q = psub.add_parser("reset", help="drop a change: the config file's value applies again (recorded)")
    q.add_argument("key", metavar="KEY")
    q.add_argument("--reason", required=True, help="why (recorded)")
    add_user_options(q)
    q.set_defaults(handler=cmd_policy_reset)

    p = sub.add_parser("report", help="accountability report for a period, computed from the audit log")
    p.add_argument("--from", dest="start", required=True, metavar="YYYY-MM-DD", help="first day (UTC)")
    p.add_argument("--to", dest="end", required=True, metavar="YYYY-MM-DD", help="last day, included (UTC)")
    p.add_argument("--format", choices=("html", "csv", "json"), default="json")
    p.add_argument("-o", "--output", type=Path, metavar="FILE", help="write here instead of stdout")
    p.set_defaults(handler=cmd_report)

    p = sub.add_parser("evaluate", help="operational test on your own labelled photos (one folder per identity)")
    p.add_argument("folder", type=Path, metavar="DIR", help="one sub-folder of photos per identity")
    p.add_argument("--out", type=Path, metavar="DIR", help="write summary.json and the PNG plots here")
    p.add_argument("--subgroups", type=Path, metavar="FILE.csv", help="identity,<label>,... per identity")
    p.add_argument("--target-fmr", type=float, default=1e-3, metavar="RATE", help="for the recommended line")
    p.add_argument("--top", type=int, metavar="K", help="rank-K identification (default: policy search.top_k)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_evaluate)


def _cli_actor(ctx, args) -> tuple[str, str]:
    # The CLI runs as a Unix account on the unit itself, its administrator; or as --user's account.
    actor = identity.actor(ctx, args, "supervisor")
    return actor.name, actor.role


def _policy_lines(policy) -> list[str]:
    lines = []
    for key, item in policy.to_dict().items():
        who = f"  (changed {item['updated_at']} by {item['updated_by']})" if item["source"] == "supervisor" else ""
        lines.append(f"{key} = {item['value']}{who}")
    return lines


def cmd_policy_show(ctx, args) -> int:
    from device.policy import Policy

    policy = Policy.load(ctx.store, ctx.config)
    emit(policy.to_dict(), args.json, _policy_lines(policy))
    return 0


def cmd_policy_set(ctx, args) -> int:
    from device.policy import parse_value, set_setting

    actor, role = _cli_actor(ctx, args)
    policy = set_setting(ctx.store, ctx.config, args.key, parse_value(args.value), actor=actor, role=role,
                         reason=args.reason)  # fmt: skip
    print(f"{args.key} = {policy.value(args.key)}")
    return 0


def cmd_policy_reset(ctx, args) -> int:
    from device.policy import reset_setting

    actor, role = _cli_actor(ctx, args)
    policy = reset_setting(ctx.store, ctx.config, args.key, actor=actor, role=role, reason=args.reason)
    print(f"{args.key} = {policy.value(args.key)} (from the config)")
    return 0


def _day(text: str, option: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}: expected a date YYYY-MM-DD, got {text!r}") from None


def cmd_report(ctx, args) -> int:
    from device.reports import period, render

    start, end = _day(args.start, "--from"), _day(args.end, "--to")
    actor, role = _cli_actor(ctx, args)
    report = period.generate(ctx.store, start, end, actor=actor, role=role, fmt=args.format)
    text = {"json": render.to_json, "csv": render.to_csv, "html": render.to_html}[args.format](report)
    if args.output:
        args.output.write_text(text, encoding="utf-8")
        print(f"report {start}..{end} written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def cmd_evaluate(ctx, args) -> int:
    from device.reports import evaluate
    from device.reports.operational import run_operational_test
    from device.vision import Recognizer

    if args.out and args.out.resolve().is_relative_to(args.folder.resolve()):
        raise UsageError("--out must not be inside the photo folder (it would be read as photos next time)")
    dataset = evaluate.read_dataset(args.folder, args.subgroups)
    recognizer = Recognizer.from_config(ctx.config.vision)
    bar = ProgressBar(len(dataset.images), "embedding")
    actor, role = _cli_actor(ctx, args)
    summary, plots, embedded = run_operational_test(ctx.store, ctx.config, recognizer, dataset,
                                                    target_fmr=args.target_fmr, top=args.top, actor=actor, role=role,
                                                    progress=lambda done: bar.update(done))  # fmt: skip
    if args.out:
        evaluate.write_out(args.out, summary, plots)
    lines = evaluate.describe(summary, embedded.skipped)
    emit(
        summary,
        args.json,
        lines + ([f"summary.json, det.png and scores.png written to {args.out}"] if args.out else []),
    )
    return 0
