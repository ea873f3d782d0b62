"""``analyze`` and ``bench``: the recognition pipeline from the command line."""

from __future__ import annotations

from pathlib import Path

from device.commands.output import emit
from device.errors import UsageError
from device.fsutil import read_user_file


def register(sub) -> None:
    p = sub.add_parser("analyze", help="find the faces in a JPEG/PNG image and assess their quality")
    p.add_argument("image", type=Path, metavar="IMAGE", help="JPEG or PNG file")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_analyze)

    p = sub.add_parser("bench", help="time each pipeline stage (and baseline pipelines, if installed)")
    p.add_argument("images", type=Path, nargs="+", metavar="IMAGE", help="JPEG/PNG photos to time")
    p.add_argument("--rounds", type=int, default=10, help="passes over the photos (default 10)")
    p.add_argument("--no-baselines", action="store_true", help="time fieldface's own pipeline only")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_bench)


def read_image_file(path: Path) -> bytes:
    return read_user_file(path, "image", UsageError)


def cmd_analyze(ctx, args) -> int:
    from device.errors import FieldfaceError
    from device.vision import Recognizer

    data = read_image_file(args.image)
    recognizer = Recognizer.from_config(ctx.config.vision)
    try:
        analysis = recognizer.analyze(data)
    except FieldfaceError as exc:
        raise type(exc)(f"{args.image}: {exc}") from None
    result = {"file": str(args.image), "model_id": recognizer.model_id, **analysis.to_dict()}
    lines = [
        f"{args.image}: {analysis.width}x{analysis.height} {analysis.format.upper()}"
        + (f" (EXIF orientation {analysis.orientation} applied)" if analysis.orientation != 1 else "")
        + f", {len(analysis.faces)} face(s), largest first"
    ]
    for face in analysis.faces:
        x0, y0, x1, y1 = face.box
        lines.append(
            f"face {face.index}: box ({x0:.0f}, {y0:.0f})-({x1:.0f}, {y1:.0f}), "
            f"confidence {face.score:.2f}, quality {face.quality.verdict.upper()} ({face.quality.unified}/100)"
        )
        values = {c.name: c.value for c in face.quality.components}
        lines.append(
            f"  eyes {values['inter_eye_px']:.0f} px apart, sharpness {values['sharpness']:.0f}, "
            f"brightness {values['brightness']:.0f}, "
            f"yaw {values['yaw_deg']:.0f}°, pitch {values['pitch_deg']:.0f}°, roll {values['roll_deg']:.0f}°, "
            f"eyes open {values['eyes_open']:.2f}"
        )
        lines += [f"  {reason}" for reason in face.quality.reasons]
    emit(result, args.json, lines)
    return 0


def cmd_bench(ctx, args) -> int:
    from device.vision.bench import run_bench

    if args.rounds < 1:
        raise UsageError("bench: --rounds must be at least 1")
    photos = [(path.name, read_image_file(path)) for path in args.images]
    report = run_bench(ctx.config.vision, photos, args.rounds, baselines=not args.no_baselines)
    emit(report.to_dict(), args.json, report.lines())
    return 0
