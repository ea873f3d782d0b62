#!/usr/bin/env python3
"""Disclosure package benchmark: prints numbers, asserts nothing.

    .venv/bin/python scripts/bench_package.py [--candidates 20] [--rounds 5] [--no-chromium]

A released case whose search listed N candidates (default 20: the policy's top K), built through
the real workflow on a temp store (the gallery: variants of the sample photos in tests/data, each
its own subject). Then, side by side:

1. ``make_package`` end to end (gather, PDF, zip, sign, audit): time and archive size, redacted
   and unredacted;
2. the PDF alone with reportlab, in a fresh Python each time: time and peak RSS (after the imports,
   and after rendering), with the Unicode TTF font (the default where DejaVu is installed) and
   with the PDF's built-in Helvetica;
3. the alternative a user would reach for: print the same facts as an HTML page to PDF with the
   headless Chromium the unit does not ship (time, and the peak of its processes' summed RSS).
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from device.config import validate_config  # noqa: E402
from device.disclosure import facts as gather_facts  # noqa: E402
from device.disclosure import make_package, pdf  # noqa: E402
from device.gallery import Actor, Gallery, SubjectInfo  # noqa: E402
from device.keys import MasterSecret  # noqa: E402
from device.store import init_data_dir  # noqa: E402
from device.vision import Recognizer  # noqa: E402
from device.workflow import Workflow  # noqa: E402
from device.workflow.analysis import FEATURES  # noqa: E402
from device.workflow.cases import get  # noqa: E402
from tests.conftest import FAST_KEYS  # noqa: E402
from tests.disclosure.conftest import variants  # noqa: E402

PHOTOS = REPO / "tests" / "data"
PASSWORD = "bench password 1"  # noqa: S105 - a throw-away store


def released_case(root: Path, candidates: int):
    fast = {"argon2_memory_kib": 64, "argon2_iterations": 1}
    config = validate_config({"keys": FAST_KEYS, "workflow": fast, "search": {"top_k": candidates},
                              "hooks": {"runtime_dir": str(root / "run")}})  # fmt: skip
    store = init_data_dir(root / "data", MasterSecret(b"bench-key-0123456789", "bench"), config, device_id="bench")
    gallery = Gallery(store, Recognizer.from_config(config.vision), config)
    actor = Actor("bench", "supervisor")
    for i, data in enumerate(variants(candidates)):
        info = SubjectInfo(f"Bench subject {i + 1:02d}", "bench", "default", f"B-{i + 1:04d}")
        gallery.enroll(info, [(f"v{i}.jpg", data)], actor, force_reason="benchmark variants")
    wf = Workflow(store, gallery.audit, gallery, config)
    until = (date.today() + timedelta(days=300)).isoformat()
    boss = wf.first_run("boss", "Supervisor", PASSWORD, until)
    exa = wf.create_user(boss, "exa", "Examiner", PASSWORD, ["examiner"], until)
    peer = wf.create_user(boss, "peer", "Peer", PASSWORD, ["reviewer"], until)
    exam = wf.start(exa, "BENCH-1", "robbery", "benchmark", (PHOTOS / "obama2.jpg").read_bytes())
    wf.run_search(exa, exam.id)
    _facts, rows = wf.candidates(exa, exam.id)
    for row in rows:
        lead = row["rank"] == 1
        wf.record_analysis(exa, exam.id, row["rank"], {k: "similar" if lead else "dissimilar" for k, _ in FEATURES},
                           {"ears": "note"}, "possible-lead" if lead else "excluded", "bench reason")  # fmt: skip
    wf.submit_for_review(exa, exam.id, "bench corroboration")
    wf.submit_review(peer, exam.id, 1, "bench concur")
    wf.release(boss, exam.id)  # a supervisor releases (policy.release_by)
    return wf, boss, exam.id, len(rows)


def timed(fn, rounds: int):
    times, result = [], None
    for _ in range(rounds):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


RENDER_CHILD = """
import base64, json, sys, time
sys.path.insert(0, sys.argv[2])

def hwm():  # VmHWM: this process's peak RSS (ru_maxrss would carry the forking parent's over exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])

from device.disclosure import pdf
if sys.argv[3] == "helvetica":
    pdf.UNICODE_FONTS = (pdf.Path("/nonexistent"), pdf.Path("/nonexistent"))
data = json.load(open(sys.argv[1]))
images = {k: base64.b64decode(v) for k, v in data["images"].items()}
before = hwm()
start = time.perf_counter()
out = pdf.render(data["record"], data["candidates"], images, redacted=False, example=False, evaluations=[],
                 package_note="bench")
took = time.perf_counter() - start
after = hwm()
print(json.dumps({"ms": took * 1000, "before": before / 1024, "after": after / 1024, "bytes": len(out)}))
"""


def pdf_in_fresh_process(facts, tmp: Path, font: str) -> dict:
    """One cold render in a new Python (imports done first): peak RSS before and after it."""
    path = tmp / "facts.json"
    images = {k: base64.b64encode(v).decode() for k, v in facts.images.items()}
    path.write_text(json.dumps({"record": facts.record, "candidates": facts.candidates, "images": images}))
    out = subprocess.run([sys.executable, "-c", RENDER_CHILD, str(path), str(REPO), font], capture_output=True,
                         text=True, check=True, timeout=300)  # fmt: skip
    return json.loads(out.stdout)


def tree_rss_mib(session: int) -> float:
    """Summed RSS of every process in a session (Chromium is many processes)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[3]) == session:  # field 6 of stat: the session id
                total += int((stat.parent / "statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            continue
    return total * resource.getpagesize() / 2**20


def as_html(facts, images) -> str:
    rows = "".join(
        f"<tr><td>{c['rank']}</td><td>{html.escape(c['display_name'])}</td><td>{c['score']:.3f}</td>"
        f"<td>{html.escape(c['disposition'] or '')}</td><td>{html.escape(str(c['checklist']))}</td></tr>"
        for c in facts.candidates
    )
    pics = "".join(f'<img style="width:45%" src="data:image/jpeg;base64,{base64.b64encode(images[n]).decode()}">'
                   for n in ("images/probe-face.jpg", "images/lead-face.jpg") if n in images)  # fmt: skip
    record = html.escape(json.dumps(facts.record, indent=1, default=str))
    return (f"<html><head><style>@page{{size:A4}} thead{{display:table-header-group}}</style></head><body>"
            f"<h1>Lead report</h1>{pics}<table border=1>{rows}</table><pre>{record}</pre></body></html>")  # fmt: skip


def chromium(facts, images, tmp: Path, rounds: int) -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if not exe:
        return "headless Chromium: not installed"
    page = tmp / "report.html"
    page.write_text(as_html(facts, images), encoding="utf-8")
    times, peak = [], 0.0
    for i in range(rounds):
        out = tmp / f"chromium-{i}.pdf"
        start = time.perf_counter()
        argv = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer", f"--print-to-pdf={out}",
                page.as_uri()]  # fmt: skip
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        while proc.poll() is None:
            peak = max(peak, tree_rss_mib(proc.pid))
            time.sleep(0.02)
        times.append(time.perf_counter() - start)
    size = out.stat().st_size if out.exists() else 0
    return (f"headless Chromium print-to-pdf (same facts as HTML): {statistics.median(times) * 1000:7.0f} ms median, "
            f"peak RSS of its processes together {peak:.0f} MiB, {size / 1024:.0f} KiB")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--candidates", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-chromium", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        wf, boss, exam_id, shown = released_case(tmp, args.candidates)
        print(f"case with {shown} candidates (released, every one with a disposition and checklist)")
        for redacted in (True, False):
            t, package = timed(lambda r=redacted: make_package(wf, boss, "BENCH-1", exam_id, redacted=r), args.rounds)
            kind = "redacted  " if redacted else "unredacted"
            size = len(package.data) / 1024
            print(f"make_package {kind}: {t * 1000:7.0f} ms median of {args.rounds}, archive {size:.0f} KiB,"
                  f" {len(package.manifest['files']) + 2} files")  # fmt: skip
        with wf.store.connection() as conn:
            exam = get(conn, exam_id)
        facts = gather_facts.gather(wf, exam)
        t, _ = timed(lambda: gather_facts.gather(wf, exam), args.rounds)
        print(f"gather (records, images, crops, audit proof):          {t * 1000:7.0f} ms median")
        for label, font in (("DejaVu TTF (default)", "dejavu"), ("built-in Helvetica", "helvetica")):
            if font == "dejavu" and not pdf.UNICODE_FONTS[0].exists():
                print(f"PDF reportlab, {label}: no DejaVu font on this machine")
                continue
            runs = [pdf_in_fresh_process(facts, tmp, font) for _ in range(args.rounds)]
            ms = statistics.median(r["ms"] for r in runs)
            before = statistics.median(r["before"] for r in runs)
            after = statistics.median(r["after"] for r in runs)
            print(
                f"PDF reportlab, {label}: {ms:7.0f} ms median (cold process), {runs[0]['bytes'] / 1024:.0f} KiB;"
                f" peak RSS {after:.0f} MiB ({before:.0f} after imports, +{after - before:.0f} rendering)"
            )
        if not args.no_chromium:
            print(chromium(facts, facts.images, tmp, min(args.rounds, 3)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
