"""The lead report as a printable PDF, rendered on the box without a browser (reportlab).

Why reportlab: pure Python (one ``py3-none-any`` wheel; Pillow, which it needs for the pictures,
has aarch64 wheels), BSD licence, no network, no browser, and its page templates put the
statement and "page N of M" on every page however the text flows. WeasyPrint needs Pango and
a lot more memory on a Pi; fpdf2 is LGPL-3.0; a headless Chromium is what this replaces.
``scripts/bench_package.py`` measures time and peak memory.

Every page carries the investigative-lead statement at its top and "page N of M" at its foot;
an example case (the demo's) says EXAMPLE on every page too. All text from the record is escaped
(reportlab paragraphs read a markup language): notes and reasons are shown as typed, never obeyed.
"""

from __future__ import annotations

import io
import json
from html import escape
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas as rl_canvas
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

# A Unicode font when the system has one (names and notes are not always Latin-1); Debian and
# Raspberry Pi OS ship DejaVu. Otherwise the PDF standard Helvetica, which needs no file.
UNICODE_FONTS = (Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
                 Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"))  # fmt: skip
MARGIN = 16 * mm
HEADER = 22 * mm


def _fonts() -> tuple[str, str]:
    regular, bold = UNICODE_FONTS
    if regular.exists() and bold.exists():
        if "FFSans" not in pdfmetrics.getRegisteredFontNames():
            pdfmetrics.registerFont(TTFont("FFSans", str(regular)))
            pdfmetrics.registerFont(TTFont("FFSans-Bold", str(bold)))
        return "FFSans", "FFSans-Bold"
    return "Helvetica", "Helvetica-Bold"


def _styles(font: str, bold: str) -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName=font, fontSize=9, leading=11.5)
    return {
        "body": body,
        "small": ParagraphStyle("small", parent=body, fontSize=7.5, leading=9.5),
        "h1": ParagraphStyle("h1", parent=base["Heading1"], fontName=bold, fontSize=15, spaceAfter=4),
        "h2": ParagraphStyle("h2", parent=base["Heading2"], fontName=bold, fontSize=11.5, spaceBefore=8, spaceAfter=3),
        "statement": ParagraphStyle(
            "statement", parent=body, fontName=bold, fontSize=8.5, leading=10.5, textColor=colors.HexColor("#8a1c1c")
        ),
    }


def _p(text, style) -> Paragraph:
    return Paragraph(escape("" if text is None else str(text)).replace("\n", "<br/>"), style)


class _Pages(rl_canvas.Canvas):
    """Holds every page until the end, so each foot can say "page N of M"."""

    def __init__(self, *args, decorate=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []
        self._decorate = decorate

    def showPage(self):
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            self._decorate(self, number, total)
            super().showPage()
        super().save()


def _table(rows, widths, style, header=True) -> Table:
    t = Table(rows, colWidths=widths, repeatRows=1 if header else 0)
    commands = [
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    if header:
        commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")))
    t.setStyle(TableStyle(commands))
    return t


def _facts_table(pairs, s, width) -> Table:
    rows = [[_p(k, s["small"]), _p(v, s["body"])] for k, v in pairs]
    return _table(rows, [width * 0.28, width * 0.72], s, header=False)


def _meaning(value) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in value.items())
    return "" if value is None else str(value)


def _picture(data: bytes | None, caption: str, s, side: float):
    if not data:
        return [_p(caption + ": not held (erased or redacted)", s["small"])]
    img = Image(io.BytesIO(data))
    scale = side / max(img.imageWidth, img.imageHeight)
    img.drawWidth, img.drawHeight = img.imageWidth * scale, img.imageHeight * scale
    return [img, _p(caption, s["small"])]


def render(record: dict, candidates: list[dict], images: dict[str, bytes], *, redacted: bool, example: bool,
           evaluations: list[str], package_note: str) -> bytes:  # fmt: skip
    """The PDF's bytes. ``evaluations``: one line per operational test; ``package_note``: what
    this copy is (who made it, redacted or not), printed under the title."""
    font, bold = _fonts()
    s = _styles(font, bold)
    out = io.BytesIO()
    width = A4[0] - 2 * MARGIN
    exam, search = record["examination"], record["search"] or {}
    statement = record["statement"]

    def decorate(c, number, total):
        c.saveState()
        head = Paragraph(escape(statement), s["statement"])
        _w, h = head.wrap(width, HEADER)
        head.drawOn(c, MARGIN, A4[1] - MARGIN / 2 - h)
        c.setFont(font, 8)
        foot = f"Case {exam['case_id']} · examination {exam['id']} · page {number} of {total}"
        c.drawString(MARGIN, MARGIN / 2, foot)
        c.drawRightString(A4[0] - MARGIN, MARGIN / 2, "INVESTIGATIVE LEAD ONLY")
        if example:
            c.setFillColor(colors.Color(0.75, 0.1, 0.1, alpha=0.18))
            c.setFont(bold, 64)
            c.translate(A4[0] / 2, A4[1] / 2)
            c.rotate(40)
            c.drawCentredString(0, 0, "EXAMPLE")
        c.restoreState()

    doc = SimpleDocTemplate(out, pagesize=A4, leftMargin=MARGIN, rightMargin=MARGIN, topMargin=MARGIN + HEADER,
                            bottomMargin=MARGIN + 4 * mm, title=f"Lead report, case {exam['case_id']}",
                            author="fieldface", subject=statement, invariant=1)  # fmt: skip
    title = "Investigative lead report" if exam["status"] == "released" else "Examination record (no lead released)"
    story = []
    if example:
        story.append(_p("EXAMPLE CASE made by the demo from sample photos: not a real investigation.", s["statement"]))
    story += [_p(title, s["h1"]), _p(package_note, s["small"]), Spacer(1, 4)]
    story.append(_facts_table([
        ("Case", exam["case_id"]), ("Offence", exam["offense"]), ("Legal authority / purpose", exam["purpose"]),
        ("Examination", f"#{exam['id']}, opened {exam['created_at']}, status {exam['status']}"),
        ("Original probe SHA-256", exam["probe_sha256"]), ("Searched image SHA-256", exam["searched_sha256"]),
        ("Search", f"gallery {search.get('gallery')} version {search.get('gallery_version')}, "
                   f"{search.get('started_at')} to {search.get('finished_at')}"),
        ("Model", record["model_id"]),
        ("Line and top K", f"worth examining at {search.get('worth_examining')}, top {search.get('top_k')}"),
        ("What a score means", _meaning(search.get("score_meaning"))),
        ("Quality override", search.get("quality_override") or "none"),
        ("Images", record["images_erased"] or "held on the unit; copies are in this package"),
    ], s, width))  # fmt: skip

    lead = next((c for c in candidates if c.get("lead")), None)
    story.append(_p("Searched face and candidate put forward", s["h2"]))
    side = width / 2 - 8 * mm
    left = _picture(images.get("images/probe-face.jpg"), "Searched face (from the searched image)", s, side)
    caption = "Candidate put forward" if lead else "No candidate put forward"
    right = _picture(images.get("images/lead-face.jpg"), caption, s, side)
    story.append(Table([[left, right]], colWidths=[width / 2, width / 2]))
    if lead:
        story.append(_p(f"Rank {lead['rank']}: {lead['display_name']}"
                        + (f" ({lead['reference']})" if lead.get("reference") else "")
                        + f", score {lead['score']:.2f}, {lead['band']}: {lead['meaning']}.", s["body"]))  # fmt: skip
        story.append(_p(f"Examiner's disposition: {lead['disposition']}: {lead['reason']}", s["body"]))

    quality = search.get("probe_quality") or {}
    story.append(_p(f"Probe quality (chosen face): {quality.get('verdict', 'not recorded')}", s["h2"]))
    if quality.get("components"):
        rows = [[_p(h, s["small"]) for h in ("Measure", "Value", "Verdict", "Reason")]]
        rows += [[_p(c.get("name"), s["small"]), _p(c.get("value"), s["small"]), _p(c.get("status"), s["small"]),
                  _p(c.get("reason"), s["small"])] for c in quality["components"]]  # fmt: skip
        story.append(_table(rows, [width * 0.25, width * 0.15, width * 0.12, width * 0.48], s))

    story.append(_p("Enhancements (the original is kept bit for bit)", s["h2"]))
    if record["edits"]:
        rows = [[_p(h, s["small"]) for h in ("#", "Operation", "Parameters", "Result SHA-256", "By, when")]]
        for e in record["edits"]:
            rows.append([_p(e["seq"], s["small"]), _p(e["op"], s["small"]),
                         _p(json.dumps(e["params"], sort_keys=True), s["small"]),
                         _p(e["output_sha256"], s["small"]), _p(f"{e['by']}, {e['at']}", s["small"])])  # fmt: skip
        story.append(_table(rows, [w * width for w in (0.05, 0.16, 0.24, 0.33, 0.22)], s))
    else:
        story.append(_p("None: the original was searched.", s["body"]))

    story.append(_p(f"Every candidate the examiner saw ({len(candidates)})", s["h2"]))
    if redacted:
        story.append(_p("Candidates other than the lead are redacted in this copy: name and image withheld, "
                        "replaced by a statement and a hash (see candidates.json).", s["small"]))  # fmt: skip
    rows = [[_p(h, s["small"]) for h in ("Rank", "Candidate", "Score, band", "Disposition and reason", "Checklist")]]
    for c in candidates:
        who = c["display_name"] + (f" ({c['reference']})" if c.get("reference") else "")
        if c.get("redacted"):
            who += f"; redaction hash {c['redaction']['sha256']}"
        checked = ", ".join(f"{k['feature'].split(' (')[0]}: {k['verdict']}" for k in c["checklist"]) or "not rated"
        rows.append([_p(c["rank"], s["small"]), _p(who, s["small"]), _p(f"{c['score']:.3f}, {c['band']}", s["small"]),
                     _p(f"{c['disposition'] or 'none'}: {c['reason'] or ''}", s["small"]),
                     _p(checked, s["small"])])  # fmt: skip
    story.append(_table(rows, [w * width for w in (0.06, 0.24, 0.14, 0.26, 0.30)], s))

    if lead and lead["checklist"]:
        story.append(_p("Feature comparison of the candidate put forward", s["h2"]))
        rows = [[_p(h, s["small"]) for h in ("Feature", "Finding", "Notes")]]
        rows += [[_p(k["feature"], s["small"]), _p(k["verdict"], s["small"]), _p(k["note"], s["small"])]
                 for k in lead["checklist"]]  # fmt: skip
        story.append(_table(rows, [width * 0.4, width * 0.15, width * 0.45], s))

    review = record["review"] or {}
    examiner = record["examiner"] or {}
    released = record["released"]
    story.append(_p("Verification and people", s["h2"]))
    story.append(_facts_table([
        ("Tier 1 (corroboration)", exam.get("corroboration") or "none recorded"),
        ("Tier 2 (blind peer review)", f"{review.get('reviewer_name')} ({review.get('reviewer')}): "
                                       f"{review.get('verdict')}: {review.get('reason')}" if review else "none"),
        ("Examiner", f"{examiner.get('name')} ({examiner.get('username')}), training valid until "
                     f"{examiner.get('training_valid_until')}"),
        ("Peer reviewer", f"{review.get('reviewer_name')} ({review.get('reviewer')}), training valid until "
                          f"{review.get('training_valid_until')}" if review else "none"),
        ("Released", f"by {released['by_name']} ({released['by']}) at {released['at']}, audit entry "
                     f"{released['audit_seq']}" if released else "not released"),
    ], s, width))  # fmt: skip

    story.append(_p("Policy in force at the time of the search", s["h2"]))
    story.append(_facts_table([(k, json.dumps(v["value"])) for k, v in record["policy_at_search"].items()], s, width))

    story.append(_p("Operational testing held by the unit", s["h2"]))
    for line in evaluations or ["No operational test is stored on this unit."]:
        story.append(_p(line, s["small"]))

    story.append(_p("Timeline (audit log; proofs in audit/)", s["h2"]))
    rows = [[_p(h, s["small"]) for h in ("Seq", "Time (UTC)", "Who", "Action")]]
    rows += [[_p(t["seq"], s["small"]), _p(t["at"], s["small"]), _p(f"{t['actor']} ({t['role']})", s["small"]),
              _p(t["action"], s["small"])] for t in record["timeline"]]  # fmt: skip
    story.append(_table(rows, [width * 0.1, width * 0.35, width * 0.3, width * 0.25], s))
    story.append(Spacer(1, 6))
    story.append(_p(statement, s["statement"]))

    doc.build(story, canvasmaker=lambda *a, **k: _Pages(*a, decorate=decorate, **k))
    return out.getvalue()
