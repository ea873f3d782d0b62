"""``enroll``, ``search``, ``subjects``, ``galleries``, ``purge``, ``case``: the gallery's CLI door."""

from __future__ import annotations

import getpass
from pathlib import Path

from device.commands.output import emit
from device.commands.progress import ProgressBar
from device.commands.vision import read_image_file
from device.errors import UsageError


def register(sub) -> None:
    p = sub.add_parser("enroll", help="enroll face images of a subject (or a CSV manifest) into a gallery")
    p.add_argument("images", type=Path, nargs="*", metavar="IMAGE", help="JPEG/PNG photos of one subject")
    p.add_argument("--manifest", type=Path, metavar="FILE.csv", help="bulk enrollment (see device/gallery/manifest.py)")
    p.add_argument("--subject", metavar="NAME", help="the subject's display name")
    p.add_argument("--reference", metavar="REF", help="external reference (record number), unique per gallery")
    p.add_argument("--gallery", metavar="G", help="gallery / watchlist (default: gallery.default_gallery)")
    p.add_argument("--category", default="", metavar="TEXT", help="watchlist category")
    p.add_argument("--legal-basis", default="", metavar="TEXT", help="why the agency may hold this face (required)")
    p.add_argument("--source", default="", metavar="TEXT", help="where the photos come from")
    p.add_argument("--retain-until", metavar="YYYY-MM-DD", help="erase the subject after this date")
    p.add_argument("--force", metavar="REASON", help="enroll below the quality bar; the reason is recorded")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_enroll)

    p = sub.add_parser("search", help="investigation-mode search: a ranked candidate list, never a match")
    p.add_argument("image", type=Path, metavar="IMAGE", help="the probe photo")
    p.add_argument("--case", required=True, help="case number (required)")
    p.add_argument("--offense", required=True, metavar="CATEGORY", help="offence category, from the config")
    p.add_argument("--purpose", required=True, metavar="TEXT", help="legal authority / purpose of the search")
    p.add_argument("--gallery", metavar="G", help="gallery to search (default: gallery.default_gallery)")
    p.add_argument("--top", type=int, metavar="K", help="number of candidates (default: search.top_k)")
    p.add_argument("--face", type=int, metavar="N", help="which face of a multi-face probe (0 = largest)")
    p.add_argument("--override-quality", metavar="REASON", help="search a failing probe; the reason is recorded")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("subjects", help="list the enrolled subjects")
    p.add_argument("--gallery", metavar="G")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_subjects)

    p = sub.add_parser("delete-subject", help="erase a subject: every image, embedding and index entry")
    p.add_argument("subject_id", type=int, metavar="ID")
    p.add_argument("--reason", required=True, help="why (recorded)")
    p.set_defaults(handler=cmd_delete)

    p = sub.add_parser("galleries", help="list galleries with their size and version")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_galleries)

    p = sub.add_parser("purge", help="erase subjects and probes past their retention date (not on legal hold)")
    p.add_argument("--dry-run", action="store_true", help="only say what would be erased")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_purge)

    p = sub.add_parser("legal-hold", help="put a case on legal hold (its probes are kept past retention)")
    p.add_argument("case", metavar="CASE")
    p.add_argument("--release", action="store_true", help="lift the hold instead")
    p.add_argument("--reason", required=True, help="why (recorded)")
    p.set_defaults(handler=cmd_legal_hold)


def cli_actor():
    from device.gallery import Actor

    # The CLI runs as a Unix account on the unit itself; the web UI names its logged-in user.
    return Actor(f"cli:{getpass.getuser()}", "operator")


def gallery_service(ctx, with_recognizer: bool = True):
    from device.gallery import Gallery

    recognizer = None
    if with_recognizer:
        from device.vision import Recognizer

        recognizer = Recognizer.from_config(ctx.config.vision)
    return Gallery(ctx.store, recognizer, ctx.config, index_progress=_index_progress("building the index"))


def _index_progress(label: str):
    bar = {}

    def progress(done: int, total: int) -> None:
        if total >= 1000:  # a small gallery builds in a blink: no bar
            bar.setdefault("bar", ProgressBar(total, label)).update(done)

    return progress


def cmd_enroll(ctx, args) -> int:
    from device.gallery import SubjectInfo
    from device.gallery.manifest import read_manifest

    default_gallery = args.gallery or ctx.config.gallery.default_gallery
    if args.manifest:
        if args.images or args.subject:
            raise UsageError("give either --manifest or --subject with images, not both")
        groups = [(g.info, g.images) for g in read_manifest(args.manifest, default_gallery)]
    else:
        if not args.subject or not args.images:
            raise UsageError("enroll needs --subject NAME and at least one IMAGE (or --manifest FILE.csv)")
        legal_basis = args.legal_basis or ""
        info = SubjectInfo(args.subject, legal_basis, default_gallery, args.reference, args.category,
                           args.source, args.retain_until)  # fmt: skip
        groups = [(info, [(str(p), p) for p in args.images])]
    gallery = gallery_service(ctx)
    actor = cli_actor()
    total = sum(len(images) for _, images in groups)
    bar = ProgressBar(total, "enrolling") if total > 1 else None
    outcomes, done = [], 0
    for info, images in groups:

        def progress(outcome):
            nonlocal done
            done += 1
            if bar:
                bar.update(done, f"{outcome.status}: {outcome.label}"[:60])

        loaded = [(label, read_image_file(path)) for label, path in images]
        report = gallery.enroll(info, loaded, actor, args.force, progress, persist_index=False)
        outcomes.extend(report.outcomes)
    gallery.flush_indexes()  # one write of each touched index, after the whole run
    enrolled = [o for o in outcomes if o.status == "enrolled"]
    skipped = [o for o in outcomes if o.status == "skipped"]
    lines = [f"enrolled {len(enrolled)} image(s), skipped {len(skipped)}"]
    lines += [f"  skipped {o.label}: {o.reason}" for o in skipped]
    lines += [
        f"  enrolled {o.label} (subject {o.subject_id}, image {o.image_id}) {o.reason}".rstrip() for o in enrolled
    ]
    emit({"enrolled": len(enrolled), "skipped": len(skipped), "images": [o.__dict__ for o in outcomes]},
         args.json, lines)  # fmt: skip
    return 0 if enrolled or not outcomes or all("duplicate" in o.reason for o in skipped) else 2


def cmd_search(ctx, args) -> int:
    from device.gallery import SearchRequest

    probe = read_image_file(args.image)
    request = SearchRequest(args.case, args.offense, args.purpose, args.gallery or ctx.config.gallery.default_gallery,
                            args.face, args.top, args.override_quality)  # fmt: skip
    result = gallery_service(ctx).search(probe, request, cli_actor())
    line = result.worth_examining
    lines = [
        f"search {result.search_id} · case {result.case} · gallery {result.gallery} v{result.gallery_version}"
        f" · probe sha256 {result.probe_sha256[:16]}…",
        "INVESTIGATIVE LEAD ONLY — candidates for trained review, never an identification.",
        f"worth-examining line {line:.2f} (see device/gallery/scores.py for what a score means)",
    ]
    above = [c for c in result.candidates if c.band == "worth-examining"]
    below = [c for c in result.candidates if c.band != "worth-examining"]
    lines.append(f"-- {len(above)} candidate(s) at or above the line --")
    lines += [_candidate_line(c) for c in above] or ["   (none)"]
    lines.append(f"-- {len(below)} below the line --")
    lines += [_candidate_line(c) for c in below]
    emit(result.to_dict(), args.json, lines)
    return 0


def _candidate_line(c) -> str:
    ref = f" [{c.reference}]" if c.reference else ""
    return f"  #{c.rank:<3} {c.score:.3f}  subject {c.subject_id}: {c.display_name}{ref}  (image {c.image_id})"


def cmd_subjects(ctx, args) -> int:
    from device.gallery.records import list_subjects

    with ctx.store.connection() as conn:
        subjects = list_subjects(conn, args.gallery)
    lines = [
        f"{s.id:>6}  {s.gallery:<12} {s.display_name} {('[' + s.reference + ']') if s.reference else ''}"
        f"  images {s.images}  retain-until {s.retain_until or '-'}"
        for s in subjects
    ] or ["no subjects enrolled"]
    emit({"subjects": [s.to_dict() for s in subjects]}, args.json, lines)
    return 0


def cmd_delete(ctx, args) -> int:
    result = gallery_service(ctx).delete_subject(args.subject_id, cli_actor(), args.reason)
    print(f"erased subject {result['subject_id']} from gallery {result['gallery']}: "
          f"{result['images']} image(s), {result['embeddings']} embedding(s), index entries removed")  # fmt: skip
    return 0


def cmd_galleries(ctx, args) -> int:
    with ctx.store.connection() as conn:
        rows = conn.execute(
            "SELECT g.name, g.version, (SELECT count(*) FROM subjects s WHERE s.gallery_id = g.id),"
            " (SELECT count(*) FROM embeddings e WHERE e.gallery_id = g.id) FROM galleries g ORDER BY g.name"
        ).fetchall()
    data = [{"name": n, "version": v, "subjects": s, "embeddings": e} for n, v, s, e in rows]
    lines = [f"{d['name']:<16} v{d['version']:<6} {d['subjects']} subject(s), {d['embeddings']} embedding(s)"
             for d in data] or ["no galleries yet"]  # fmt: skip
    emit({"galleries": data}, args.json, lines)
    return 0


def cmd_purge(ctx, args) -> int:
    report = gallery_service(ctx).purge(cli_actor(), dry_run=args.dry_run)
    verb = "would erase" if args.dry_run else "erased"
    lines = [f"{verb} {len(report.subjects)} subject(s) and {len(report.probes)} probe image(s) past retention"]
    if report.held:
        lines.append(f"kept {len(report.held)} probe image(s) of cases on legal hold")
    emit(report.to_dict(), args.json, lines)
    return 0


def cmd_legal_hold(ctx, args) -> int:
    gallery_service(ctx, with_recognizer=False).set_legal_hold(args.case, not args.release, cli_actor(), args.reason)
    print(f"case {args.case}: legal hold {'lifted' if args.release else 'set'}")
    return 0
