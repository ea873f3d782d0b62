"""``enroll``, ``search``, ``cases``, ``subjects``, ``galleries``, ``purge``, ``legal-hold``: the gallery's CLI door."""

from __future__ import annotations

from pathlib import Path

from device.commands import identity
from device.commands.identity import add_user_options
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
    add_user_options(p)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_enroll)

    p = sub.add_parser("search", help="search as a named user: a ranked candidate list, never a match")
    p.add_argument("image", type=Path, metavar="IMAGE", help="the probe photo")
    p.add_argument("--case", required=True, help="case number (required)")
    p.add_argument("--offense", required=True, metavar="CATEGORY", help="offence category the policy allows")
    p.add_argument("--purpose", required=True, metavar="TEXT", help="legal authority / purpose of the search")
    p.add_argument("--face", type=int, metavar="N", help="which face of a multi-face probe (0 = largest)")
    add_user_options(p, required=True)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_search)

    p = sub.add_parser("cases", help="cases on this unit: examinations, searches, candidates, images held or erased")
    csub = p.add_subparsers(dest="cases_command", metavar="ACTION")
    csub.required = True
    q = csub.add_parser("list", help="every case with its examinations and whether images are still held")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=cmd_cases_list)
    q = csub.add_parser("show", help="one case: each examination's examiner, step, search, candidates, images")
    q.add_argument("case", metavar="CASE")
    q.add_argument("--json", action="store_true")
    q.set_defaults(handler=cmd_cases_show)

    p = sub.add_parser("subjects", help="list the enrolled subjects")
    p.add_argument("--gallery", metavar="G")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_subjects)

    p = sub.add_parser("delete-subject", help="erase a subject: every image, embedding and index entry")
    p.add_argument("subject_id", type=int, metavar="ID")
    p.add_argument("--reason", required=True, help="why (recorded)")
    add_user_options(p)
    p.set_defaults(handler=cmd_delete)

    p = sub.add_parser("galleries", help="list galleries with their size and version")
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_galleries)

    p = sub.add_parser("purge", help="erase subjects and probes past their retention date (not on legal hold)")
    p.add_argument("--dry-run", action="store_true", help="only say what would be erased")
    add_user_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(handler=cmd_purge)

    p = sub.add_parser("legal-hold", help="put a case on legal hold (its probes are kept past retention)")
    p.add_argument("case", metavar="CASE")
    p.add_argument("--release", action="store_true", help="lift the hold instead")
    p.add_argument("--reason", required=True, help="why (recorded)")
    add_user_options(p)
    p.set_defaults(handler=cmd_legal_hold)


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
    actor = identity.actor(ctx, args, "supervisor")
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
    from device.workflow.probe import chosen_face

    probe = read_image_file(args.image)
    wf = identity.workflow(ctx)
    user = identity.sign_in(wf, args.user, args.password_file)
    chosen_face(wf.analyze(probe), args.face)  # several faces and no --face: refused before anything is written
    exam = wf.start(user, args.case, args.offense, args.purpose, probe, source="import")
    try:
        result = wf.run_search(user, exam.id, args.face)
    except UsageError as exc:  # refused for quality: the examination waits for a supervisor's override
        raise UsageError(f"{exc}; case examination {exam.id} stays open in the review UI") from None
    line = result.worth_examining
    lines = [
        f"case examination {exam.id} (open it in the review UI) · search {result.search_id} · case {result.case}"
        f" · gallery {result.gallery} v{result.gallery_version} · probe sha256 {result.probe_sha256[:16]}…",
        "INVESTIGATIVE LEAD ONLY — candidates for trained review, never an identification.",
        f"worth-examining line {line:.2f} (see device/gallery/scores.py for what a score means)",
    ]
    above = [c for c in result.candidates if c.band == "worth-examining"]
    below = [c for c in result.candidates if c.band != "worth-examining"]
    lines.append(f"-- {len(above)} candidate(s) at or above the line --")
    lines += [_candidate_line(c) for c in above] or ["   (none)"]
    lines.append(f"-- {len(below)} below the line --")
    lines += [_candidate_line(c) for c in below]
    emit({"examination": exam.id, **result.to_dict()}, args.json, lines)
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
    actor = identity.actor(ctx, args, "supervisor")
    result = gallery_service(ctx).delete_subject(args.subject_id, actor, args.reason)
    print(f"erased subject {result['subject_id']} from gallery {result['gallery']}: "
          f"{result['images']} image(s), {result['embeddings']} embedding(s), index entries removed")  # fmt: skip
    return 0


def cmd_galleries(ctx, args) -> int:
    from device.gallery.records import gallery_sizes

    with ctx.store.connection() as conn:
        data = [{k: v for k, v in g.items() if k != "images"} for g in gallery_sizes(conn)]
    lines = [f"{d['name']:<16} v{d['version']:<6} {d['subjects']} subject(s), {d['embeddings']} embedding(s)"
             for d in data] or ["no galleries yet"]  # fmt: skip
    emit({"galleries": data}, args.json, lines)
    return 0


def cmd_purge(ctx, args) -> int:
    wf = identity.workflow(ctx)  # erasing a subject updates the index, which needs the model's id
    report = wf.purge(identity.actor(ctx, args, "supervisor", wf), dry_run=args.dry_run)
    verb = "would erase" if args.dry_run else "erased"
    lines = [f"{verb} {len(report.subjects)} subject(s), the images of {len(report.examinations)} case"
             f" examination(s) and {len(report.probes)} other probe image(s) past retention"]  # fmt: skip
    if report.held or report.held_examinations:
        lines.append(f"kept the images of {len(report.held_examinations) + len(report.held)} probe(s) of cases on"
                     " legal hold")  # fmt: skip
    emit(report.to_dict(), args.json, lines)
    return 0


def cmd_cases_list(ctx, args) -> int:
    cases = identity.workflow(ctx, with_recognizer=False).case_list()
    lines = [
        f"{c['case']:<24} {c['examinations']} examination(s), {c['searches']} search(es), images held for"
        f" {c['images_held']}{'  LEGAL HOLD' if c['legal_hold'] else ''}{'  EXAMPLE' if c['example'] else ''}"
        f"  (opened {c['created_at'][:10]}"
        f" by {c['created_by']})"
        for c in cases
    ] or ["no cases on this unit"]
    emit({"cases": cases}, args.json, lines)
    return 0


def cmd_cases_show(ctx, args) -> int:
    case = identity.workflow(ctx, with_recognizer=False).case_detail(args.case)
    lines = [f"case {case['case']} (opened {case['created_at'][:10]} by {case['created_by']})"
             + ("  LEGAL HOLD" if case["legal_hold"] else "")
             + ("  EXAMPLE (demo data)" if case["example"] else "")]  # fmt: skip
    for e in case["examinations"]:
        images = e["images"]
        held = f"erased {images['erased_at'][:10]}" if images["erased_at"] else "held"
        lines.append(f"  examination {e['examination']}: {e['examiner']}, step {e['step']} ({e['status']}),"
                     f" {e['offense']}, probe {e['probe_sha256'][:16]}…, images {held}")  # fmt: skip
        if e["search"]:
            s = e["search"]
            lines.append(f"    search {s['id']} at {s['at']}: gallery {s['gallery']} v{s['gallery_version']},"
                         f" line {s['worth_examining']:.2f}, top {s['top_k']}")  # fmt: skip
            lines += [f"    #{c['rank']:<3} {c['score']:.3f}  subject {c['subject']}  {c['disposition'] or '-'}"
                      for c in e["candidates"]]  # fmt: skip
        if e["review"]:
            r = e["review"]
            lines.append(f"    peer review by {r['reviewer']}: {r['verdict']} ({r['at'][:10]})")
    emit(case, args.json, lines)
    return 0


def cmd_legal_hold(ctx, args) -> int:
    actor = identity.actor(ctx, args, "supervisor")
    gallery_service(ctx, with_recognizer=False).set_legal_hold(args.case, not args.release, actor, args.reason)
    print(f"case {args.case}: legal hold {'lifted' if args.release else 'set'}")
    return 0
