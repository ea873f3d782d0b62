#!/usr/bin/env python3
"""Page timings of the review UI under a few concurrent sessions (p50/p95 per page).

Starts ``fieldface demo`` (gunicorn, gthread, the real models) in a temp dir, logs in N examiner
sessions in parallel (the demo's examiner account), each uploading and searching ``-p`` probes
(timed as the two posts with their redirects, and summed), then each fetching every
workflow page R times. Run: ``.venv/bin/python scripts/bench_web.py [-n 4] [-r 20] [-p 10]``.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

from device.demo import DEMO_PASSWORD as PASSWORD  # the documented demo account

REPO = Path(__file__).resolve().parent.parent
PROBE = REPO / "tests" / "data" / "obama2.jpg"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Session:
    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path: str) -> tuple[float, bytes, str]:
        started = time.perf_counter()
        with self.opener.open(self.base + path, timeout=60) as r:
            body = r.read()
            return time.perf_counter() - started, body, r.url

    def post(self, path: str, data: bytes, content_type: str) -> tuple[float, str]:
        req = urllib.request.Request(self.base + path, data=data, headers={"Content-Type": content_type})  # noqa: S310
        started = time.perf_counter()
        with self.opener.open(req, timeout=120) as r:
            r.read()
            return time.perf_counter() - started, r.url

    def token(self, path: str) -> str:
        return TOKEN.search(self.get(path)[1].decode()).group(1)

    def form(self, path: str, fields: dict, page: str) -> tuple[float, str]:
        body = urllib.parse.urlencode({"csrf_token": self.token(page), **fields}).encode()
        return self.post(path, body, "application/x-www-form-urlencoded")


def multipart(fields: dict, file_field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = '--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
    parts = [head.format(b=boundary, k=k, v=v).encode() for k, v in fields.items()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{filename}"\r\n'
                 "Content-Type: image/jpeg\r\n\r\n".encode() + data + b"\r\n")  # fmt: skip
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def unique_probe(tag: str) -> bytes:
    """The probe photo with a JPEG comment naming ``tag`` after its SOI marker: the same picture,
    other bytes, so every upload is a new image to decode, detect and embed (no cache hit)."""
    data, comment = PROBE.read_bytes(), f"bench {tag}".encode()
    return data[:2] + b"\xff\xfe" + (len(comment) + 2).to_bytes(2, "big") + comment + data[2:]


def probe_to_candidates(s: Session, case: str, record) -> str:
    """Upload a probe and search it: the two posts (each followed by its redirect's rendered page)
    a user waits for between choosing a photo and seeing the candidate list."""
    fields = {"csrf_token": s.token("/cases/new"), "case": case, "offense": "robbery", "purpose": "bench"}
    data, ctype = multipart(fields, "probe", "probe.jpg", unique_probe(case))
    started, url = s.post("/cases/new", data, ctype)
    record("POST /cases/new (decode+detect)", started)
    exam = url.rstrip("/").split("/")[-2]
    searched, _ = s.form(f"/cases/{exam}/search", {"face": "0"}, f"/cases/{exam}/enhance")
    record("POST search (embed+search)", searched)
    record("start + search (probe to candidates)", started + searched)
    return exam


def run_session(base: str, index: int, rounds: int, probes: int, timings: dict, lock: threading.Lock) -> None:
    s = Session(base)
    body = urllib.parse.urlencode({"username": "examiner", "password": PASSWORD}).encode()
    record = lambda page, t: (lock.acquire(), timings.setdefault(page, []).append(t), lock.release())  # noqa: E731
    record("POST /login", s.post("/login", body, "application/x-www-form-urlencoded")[0])
    for n in range(probes):
        exam = probe_to_candidates(s, f"BENCH-{index}-{n}", record)
    pages = ["/cases", "/cases/new", f"/cases/{exam}/probe", f"/cases/{exam}/enhance", f"/cases/{exam}/analysis",
             f"/cases/{exam}/candidates/1", f"/cases/{exam}/verify", f"/cases/{exam}/image/working.jpg", "/status",
             "/api/v1/cases"]  # fmt: skip
    for _ in range(rounds):
        for page in pages:
            elapsed, _, _ = s.get(page)
            record("GET " + re.sub(r"/cases/\d+", "/cases/<id>", page), elapsed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--sessions", type=int, default=4)
    parser.add_argument("-r", "--rounds", type=int, default=20)
    parser.add_argument("-p", "--probes", type=int, default=10, help="probes uploaded and searched per session")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDFACE_")}
        port = free_port()
        argv = [sys.executable, "-m", "device.cli", "demo", "--dir", f"{tmp}/demo", "--bind", f"127.0.0.1:{port}"]
        proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    urllib.request.urlopen(base + "/healthz", timeout=2).read()  # noqa: S310 - loopback
                    break
                except OSError:
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise SystemExit("fieldface demo did not start") from None
                    time.sleep(0.3)
            timings: dict[str, list[float]] = {}
            lock = threading.Lock()
            threads = [threading.Thread(target=run_session, args=(base, i, args.rounds, args.probes, timings, lock))
                       for i in range(args.sessions)]  # fmt: skip
            for t in threads:
                t.start()
            for t in threads:
                t.join()
        finally:
            proc.terminate()
            proc.wait(30)
    print(f"{args.sessions} concurrent sessions, {args.probes} probes and {args.rounds} rounds each; ms")
    print(f"{'page':42} {'n':>5} {'p50':>8} {'p95':>8}")
    for page, values in timings.items():
        values.sort()
        p95 = values[min(len(values) - 1, round(0.95 * (len(values) - 1)))]
        print(f"{page:42} {len(values):5d} {statistics.median(values) * 1e3:8.1f} {p95 * 1e3:8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
