"""The period report as JSON, CSV (section, item, value rows) or one self-contained HTML file.

Charts are SVG drawn here, server-side, with every label escaped: no script and no chart library,
so the same markup works in a file opened anywhere and under the web UI's CSP.
"""

from __future__ import annotations

import csv
import io
import json
from html import escape
from typing import Any

BAR_COLOUR = "#2f5d8a"


def to_json(report: dict) -> str:
    return json.dumps(report, indent=2, sort_keys=False) + "\n"


def _rows(prefix: str, value: Any):
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _rows(f"{prefix}.{key}" if prefix else str(key), item)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _rows(f"{prefix}[{i}]", item)
    else:
        section, _, item = prefix.partition(".")
        yield section, item, "" if value is None else value


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): user names,
# offence words and reasons reach the report, so such text cells get a leading apostrophe.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value):
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def to_csv(report: dict) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["section", "item", "value"])
    writer.writerows([_cell(c) for c in row] for row in _rows("", report))
    return out.getvalue()


def bar_chart(title: str, counts: dict[str, int | float], width: int = 520) -> str:
    """A horizontal bar chart as an inline SVG element (presentation attributes only, no CSS)."""
    items = list(counts.items())
    row, label_w, top = 22, 170, 28
    height = top + row * max(len(items), 1) + 8
    biggest = max((float(v) for _, v in items), default=0) or 1.0
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f'<text x="0" y="16" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    if not items:
        parts.append(f'<text x="0" y="{top + 14}" font-size="12">none in this period</text>')
    for i, (label, value) in enumerate(items):
        y = top + i * row
        bar = (width - label_w - 60) * float(value) / biggest
        parts += [
            f'<text x="{label_w - 6}" y="{y + 14}" font-size="12" text-anchor="end">{escape(str(label)[:28])}</text>',
            f'<rect x="{label_w}" y="{y + 3}" width="{bar:.1f}" height="{row - 8}" fill="{BAR_COLOUR}"/>',
            f'<text x="{label_w + bar + 4:.1f}" y="{y + 14}" font-size="12">{escape(str(value))}</text>',
        ]
    parts.append("</svg>")
    return "".join(parts)


def charts(report: dict) -> list[str]:
    review = report["peer_review"]
    return [
        bar_chart("Searches by offence category", report["searches"]["by_offense"]),
        bar_chart("Searches by user", report["searches"]["by_user"]),
        bar_chart("Dispositions", {k: v for k, v in report["dispositions"].items() if k != "total"}),
        bar_chart("Peer review", {"concur": review["concur"], "dissent": review["dissent"]}),
        bar_chart("Gallery and retention", {
            "images enrolled": report["gallery"]["images_enrolled"],
            "subjects deleted": report["gallery"]["subjects_deleted"],
            "subjects purged": report["purges"]["subjects"],
            "probes purged": report["purges"]["probes"],
        }),
    ]  # fmt: skip


def tables(report: dict) -> list[tuple[str, list[tuple[str, Any]]]]:
    """Each section as (title, [(item, value)]) for the HTML file and the web page."""
    skip = {"title", "device", "notice", "generated", "policy_changes"}
    out = []
    for section, value in report.items():
        if section in skip:
            continue
        rows = [(item, v) for s, item, v in _rows(section, value)] if isinstance(value, dict) else [("", value)]
        out.append((section.replace("_", " "), rows))
    return out


def to_html(report: dict) -> str:
    gen = report["generated"]
    period = report["period"]
    body = [
        f"<h1>{escape(report['title'])}</h1>",
        f"<p>Device {escape(report['device'])} · period {escape(period['from'])} to {escape(period['to'])} (UTC)"
        f" · generated {escape(gen['at'])} by {escape(gen['by'])} (audit entry {gen['audit_seq']},"
        f" figures SHA-256 {escape(gen['figures_sha256'])})</p>",
        f"<p><strong>{escape(report['notice'])}</strong></p>",
        *charts(report),
    ]
    for title, rows in tables(report):
        body.append(f"<h2>{escape(title)}</h2><table>")
        body += [f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in rows]
        body.append("</table>")
    body.append("<h2>policy changes</h2>")
    changes = report["policy_changes"]
    body.append("<table><tr><th>at</th><th>by</th><th>setting</th><th>old</th><th>new</th><th>reason</th></tr>")
    body += [
        "<tr>" + "".join(f"<td>{escape(str(c[k]))}</td>" for k in ("at", "by", "key", "old", "new", "reason")) + "</tr>"
        for c in changes
    ]
    body.append("</table>" + ("" if changes else "<p>none in this period</p>"))
    style = "body{font-family:sans-serif;max-width:60em;margin:2em auto}td,th{text-align:left;padding:2px 8px}"
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(report['title'])} {escape(period['from'])}..{escape(period['to'])}</title>"
        f"<style>{style}</style></head><body>" + "\n".join(body) + "</body></html>\n"
    )
