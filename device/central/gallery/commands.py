"""``fieldface central gallery ...`` and ``fieldface central agency-key``: the gallery authority's door."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path

from device.commands.output import emit


def register(central) -> None:
    k = central.add_parser("agency-key", help="the agency's public key line, for 'fieldface gallery trust' on units")
    k.add_argument("--new", type=Path, metavar="FILE", help="first make a new agency key file here (mode 0600)")
    k.add_argument("--name", default="agency", help="the name units show for this key (default: agency)")
    k.set_defaults(handler=cmd_agency_key)

    p = central.add_parser("gallery", help="the agency's watchlists: enroll, erase, publish bundles, status")
    g = p.add_subparsers(dest="gallery_command", metavar="ACTION")
    g.required = True
    e = g.add_parser(
        "enroll", help="enroll a subject's images (or a manifest's) into a central gallery (the unit's rules)"
    )
    e.add_argument("--gallery", help="the central gallery (a manifest row may name its own)")
    e.add_argument("--subject", metavar="NAME")
    e.add_argument("--reference", metavar="REF", help="the agency's record number")
    e.add_argument("--legal-basis", metavar="TEXT")
    e.add_argument("--category", default="")
    e.add_argument("--source", default="")
    e.add_argument("--retain-until", metavar="YYYY-MM-DD")
    e.add_argument(
        "--manifest",
        type=Path,
        metavar="FILE.csv",
        help="many subjects: the unit's manifest columns; every row needs a reference",
    )
    e.add_argument("images", nargs="*", type=Path, metavar="IMAGE")
    e.add_argument("--json", action="store_true")
    e.set_defaults(handler=cmd_enroll)
    ls = g.add_parser("list", help="subjects of the central galleries")
    ls.add_argument("--gallery")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(handler=cmd_list)
    pub = g.add_parser("publish", help="a signed, encrypted bundle of a gallery for the registered units")
    pub.add_argument("--gallery", required=True)
    pub.add_argument("--unit", help="only this unit (default: every registered unit)")
    pub.add_argument("--base", type=int, help="a delta from this version (default: what the units acknowledged)")
    pub.add_argument("--model", action="append", help="a model id whose scores the agency accepts (repeatable)")
    pub.add_argument("-o", "--output", type=Path, metavar="FILE", help="write the bundle here (removable media)")
    pub.set_defaults(handler=cmd_publish)
    er = g.add_parser("erase", help="erase a reference centrally and issue a signed erasure order for every unit")
    er.add_argument("reference", metavar="REF")
    er.add_argument("--reason", required=True, metavar="TEXT")
    er.add_argument("-o", "--output", type=Path, metavar="FILE", help="also write the order here (removable media)")
    er.set_defaults(handler=cmd_erase)
    ex = g.add_parser("expire", help="an erasure order for every subject past its retain-until date")
    ex.add_argument("-o", "--output-dir", type=Path, metavar="DIR", help="write the orders here (removable media)")
    ex.set_defaults(handler=cmd_expire)
    st = g.add_parser("status", help="per unit the version held; per erasure order who applied it, who is outstanding")
    st.add_argument("--json", action="store_true")
    st.set_defaults(handler=cmd_status)


def _actor() -> str:
    return f"os:{getpass.getuser()}"


def _store(ctx, args):
    from device.central.commands import open_central

    return open_central(ctx, args)


def _agency(ctx):
    from device.central.gallery.agency import load

    return load(ctx.env)


def cmd_agency_key(ctx, args) -> int:
    from device.central.gallery.agency import generate

    if args.new:
        key = generate(args.new)
        print(f"wrote a new agency key to {args.new}: keep it as the systemd credential 'fieldface-agency-key'",
              file=sys.stderr)  # fmt: skip
    else:
        key = _agency(ctx)
    name = " ".join(args.name.split())[:120] or "agency"
    print(f"{key.public} {name}")
    return 0


def cmd_enroll(ctx, args) -> int:
    from datetime import UTC, datetime

    from device.central.gallery.authority import enroll
    from device.commands.vision import read_image_file
    from device.policy import Policy
    from device.vision import Recognizer

    groups = _enroll_groups(ctx, args)  # every row or option checked before anything is written
    agency = _agency(ctx)
    store = _store(ctx, args)
    recognizer = Recognizer.from_config(ctx.config.vision)
    results, lines = [], []
    try:
        for info, files in groups:
            images = [(str(p), read_image_file(p)) for p in files]
            result = enroll(store, agency, recognizer, Policy(ctx.config, {}), info, images, _actor(),
                            datetime.now(UTC).date())  # fmt: skip
            results.append({"reference": info.reference, "gallery": info.gallery, **result})
            version = f", now version {result['version']}" if result["version"] else ""
            lines.append(f"enrolled {result['enrolled']} image(s) of {info.reference} into central gallery "
                         f"{info.gallery}{version}")  # fmt: skip
            lines += [f"  skipped {s['image']}: {s['reason']}" for s in result["skipped"]]
    finally:
        store.close()
        recognizer.decoder.close()
    emit(results[0] if not args.manifest else {"subjects": results}, args.json, lines)
    ok = all(r["enrolled"] or all("duplicate" in s["reason"] for s in r["skipped"]) for r in results)
    return 0 if ok else 2


def _enroll_groups(ctx, args) -> list:
    """``[(SubjectInfo, [image paths])]`` from the options or from a manifest (the unit's format)."""
    from device.errors import UsageError
    from device.gallery import SubjectInfo
    from device.gallery.manifest import read_manifest

    one = (args.subject, args.reference, args.legal_basis)
    if args.manifest:
        if any(one) or args.images:
            raise UsageError("give either --manifest or --subject/--reference/--legal-basis with images, not both")
        groups = read_manifest(args.manifest, args.gallery or ctx.config.gallery.default_gallery)
        for group in groups:
            if not group.info.reference:
                raise UsageError(f"manifest {args.manifest}: {group.info.display_name!r} has no reference; "
                                 "central subjects need the agency's reference (erasure orders name it)")  # fmt: skip
        return [(g.info, [path for _label, path in g.images]) for g in groups]
    missing = [flag for flag, value in (("--gallery", args.gallery), ("--subject", args.subject),
                                        ("--reference", args.reference), ("--legal-basis", args.legal_basis),
                                        ("IMAGE", args.images)) if not value]  # fmt: skip
    if missing:
        raise UsageError(f"central gallery enroll needs {', '.join(missing)} (or --manifest FILE.csv)")
    info = SubjectInfo(args.subject, args.legal_basis, args.gallery, args.reference, args.category, args.source,
                       args.retain_until)  # fmt: skip
    return [(info, args.images)]


def cmd_list(ctx, args) -> int:
    from device.central.gallery.authority import subjects

    store = _store(ctx, args)
    try:
        rows = subjects(store, args.gallery)
    finally:
        store.close()
    lines = [
        f"{r['gallery']:<16} {r['reference']:<20} {r['images']:>3} image(s)  v{r['changed_version']}  "
        + ("ERASED" if r["removed_version"] is not None else r["display_name"])
        for r in rows
    ]
    emit({"subjects": rows}, args.json, lines or ["no central subjects"])
    return 0


def cmd_publish(ctx, args) -> int:
    from device.central.gallery.publish import build, record_publication
    from device.fsutil import write_atomic

    agency = _agency(ctx)
    store = _store(ctx, args)
    try:
        if args.output is None:
            from device.central.gallery.delivery import publish_mqtt

            return publish_mqtt(ctx, store, agency, args.gallery, args.unit, args.base, args.model, _actor())
        data, manifest = build(store, agency, args.gallery, unit=args.unit, base=args.base, models=args.model)
        write_atomic(args.output, data, mode=0o600)
        record_publication(store, manifest, len(data), "file", _actor())
    finally:
        store.close()
    kind = "full bundle" if manifest["base"] == 0 else f"delta from version {manifest['base']}"
    print(f"wrote {args.gallery} version {manifest['version']} ({kind}, {manifest['subjects']} subject record(s), "
          f"{len(manifest['orders'])} erasure order(s), {len(data)} bytes) for unit(s) "
          f"{', '.join(sorted(manifest['keys']['units']))} to {args.output}")  # fmt: skip
    return 0


def cmd_erase(ctx, args) -> int:
    from device.central.gallery.authority import erase

    agency = _agency(ctx)
    store = _store(ctx, args)
    try:
        result = erase(store, agency, args.reference, args.reason, _actor())
        sent = _deliver_order(ctx, result, args.output)
    finally:
        store.close()
    where = ", ".join(result["galleries"]) or "no central gallery (units erase it wherever they hold it)"
    print(f"erasure order {result['order']} for {args.reference} ({where}): hash {result['hash']}, {sent}")
    return 0


def _deliver_order(ctx, result: dict, path: Path | None) -> str:
    from device.central.gallery.authority import order_file
    from device.errors import SyncError
    from device.fsutil import write_atomic

    if path is not None:
        write_atomic(path, order_file(result["envelope"]), mode=0o600)
        return f"written to {path}"
    from device.central.gallery.delivery import send_order

    try:
        send_order(ctx, result["envelope"])
    except SyncError as exc:
        raise SyncError(f"order {result['order']} is recorded and rides with every bundle, but MQTT failed: {exc}; "
                        "use -o FILE for media") from None  # fmt: skip
    return "sent over MQTT"


def cmd_expire(ctx, args) -> int:
    from datetime import UTC, datetime

    from device.central.gallery.authority import erase, expired

    agency = _agency(ctx)
    store = _store(ctx, args)
    lines = []
    try:
        for ref in expired(store, datetime.now(UTC).date()):
            result = erase(store, agency, ref, "retention period ended", _actor())
            target = None if args.output_dir is None else args.output_dir / f"order-{result['order']}.fforder"
            lines.append(f"erasure order {result['order']} for {ref}: {_deliver_order(ctx, result, target)}")
    finally:
        store.close()
    print("\n".join(lines) or "no central subject is past its retain-until date")
    return 0


def cmd_status(ctx, args) -> int:
    from device.central.gallery.status import lines, status

    store = _store(ctx, args)
    try:
        doc = status(store)
    finally:
        store.close()
    emit(doc, args.json, lines(doc))
    return 0
