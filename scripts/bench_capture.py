#!/usr/bin/env python3
"""Live capture guidance: what it costs per frame, how many frames a second, and the web worker's CPU.

1. In this process, on a 640x480 preview frame (a committed photo on a grey background), the time
   of detection + landmarks + quality per frame, p50/p95, and the CPU cores it keeps busy
   (process CPU time / wall time), for the preview recognizer (one interpreter thread, no
   embedder: what the guide runs) side by side with the alternatives: the search's recognizer
   (``vision.threads``) on the same frame, and ``analyze`` of the JPEG the MJPEG stream carries.
2. Served: ``fieldface demo`` with the files camera playing that frame at 640x480, a client reading
   the MJPEG stream and polling ``/camera/guidance.json`` 4 times a second as the page does, for
   ``-t`` seconds in each phase: no preview (idle), preview with guidance off
   (``camera.guidance_fps = 0``: a second server), preview with guidance, and preview with guidance
   while another session uploads and searches probes back to back. For each: MJPEG frames/s,
   guidance analyses/s, and the CPU share of the server (1.00 = one core; the demo process and its
   gunicorn worker, from /proc).

Run: ``.venv/bin/python scripts/bench_capture.py [-t 10] [-n 60]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_web import PASSWORD, REPO, Session, free_port, probe_to_candidates

CLK = os.sysconf("SC_CLK_TCK")


def preview_frame() -> np.ndarray:
    """A 1280x960 still (the files source scales it to the 640x480 preview): a face on grey."""
    photo = cv2.cvtColor(cv2.imread(str(REPO / "tests" / "data" / "obama.jpg")), cv2.COLOR_BGR2RGB)
    scale = 900 / photo.shape[0]
    photo = cv2.resize(photo, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    canvas = np.full((960, 1280, 3), 128, np.uint8)
    x = (1280 - photo.shape[1]) // 2
    canvas[30 : 30 + photo.shape[0], x : x + photo.shape[1]] = photo
    return canvas


def timed(fns: list, rounds: int) -> list[tuple[float, float, float]]:
    """Per function: (p50 ms, p95 ms, cores busy while it ran), calls interleaved round by round
    so that a busy machine slows every row alike; 5 warm-up calls each first."""
    for fn in fns:
        for _ in range(5):
            fn()
    walls: list[list[float]] = [[] for _ in fns]
    cpus = [0.0 for _ in fns]
    for _ in range(rounds):
        for i, fn in enumerate(fns):
            cpu0, started = time.process_time(), time.perf_counter()
            fn()
            walls[i].append((time.perf_counter() - started) * 1e3)
            cpus[i] += time.process_time() - cpu0
    out = []
    for times, cpu in zip(walls, cpus, strict=True):
        cores = cpu / (sum(times) / 1e3)
        times.sort()
        out.append((statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))], cores))
    return out


def in_process(rounds: int) -> None:
    from device.camera.base import Still, fit_within
    from device.config import validate_config
    from device.vision import Recognizer

    config = validate_config({}).vision
    frame = fit_within(preview_frame(), (640, 480))
    jpeg = Still(frame, "bench").jpeg(70)
    preview = Recognizer.from_config(config, preview=True)
    full = Recognizer.from_config(config)
    assert preview.faces(frame), "the bench frame must hold a face"
    rows = [
        ("preview recognizer: faces(frame), 1 thread [guide]", lambda: preview.faces(frame)),
        (f"search recognizer: faces(frame), {config.threads} threads", lambda: full.faces(frame)),
        ("search recognizer: analyze(MJPEG JPEG bytes)", lambda: full.analyze(jpeg)),
    ]
    print(f"Per preview frame {frame.shape[1]}x{frame.shape[0]}, {rounds} rounds (detection + landmarks + quality)")
    print(f"{'':54} {'p50 ms':>8} {'p95 ms':>8} {'max fps':>8} {'cores':>6}")
    for (name, _fn), (p50, p95, cores) in zip(rows, timed([fn for _n, fn in rows], rounds), strict=True):
        print(f"{name:54} {p50:8.1f} {p95:8.1f} {1000 / p50:8.1f} {cores:6.2f}")


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` and every descendant (the gunicorn master and its worker)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLK
        todo.extend(children.get(current, []))
    return total


class Server:
    def __init__(self, tmp: Path, name: str, frame_dir: Path, guidance_fps: float):
        config = tmp / f"{name}.toml"
        config.write_text(
            f'[camera]\ntype = "files"\nsource = "{frame_dir}"\nlock_file = "{tmp / name}.lock"\n'
            f"preview_fps = 10.0\nguidance_fps = {guidance_fps}\nstill_size = [1280, 960]\n"
        )
        env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDFACE_")}
        env["FIELDFACE_CONFIG"] = str(config)
        port = free_port()
        argv = [sys.executable, "-m", "device.cli", "demo", "--dir", str(tmp / name), "--bind", f"127.0.0.1:{port}"]
        self.proc = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 180
        while True:
            try:
                urllib.request.urlopen(self.base + "/healthz", timeout=2).read()  # noqa: S310 - loopback
                return
            except OSError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise SystemExit("fieldface demo did not start") from None
                time.sleep(0.3)

    def session(self) -> Session:
        s = Session(self.base)
        s.post("/login", urllib.parse.urlencode({"username": "examiner", "password": PASSWORD}).encode(),
               "application/x-www-form-urlencoded")  # fmt: skip
        return s

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(30)


def phase(server: Server, seconds: float, preview: bool, search: bool) -> dict:
    viewer = server.session()
    stop = threading.Event()
    counts = {"frames": 0, "searches": 0}
    analysed: list[int] = []

    def stream():
        with viewer.opener.open(server.base + f"/camera/preview.mjpg?t={time.time()}", timeout=30) as r:
            while not stop.is_set():
                line = r.readline()
                if not line:
                    return
                if line.startswith(b"--frame"):
                    counts["frames"] += 1

    def poll():
        while not stop.is_set():
            body = json.loads(viewer.get("/camera/guidance.json")[1])
            analysed.append(body.get("analysed", 0))
            stop.wait(0.25)

    def searches():
        searcher = server.session()
        n = 0
        while not stop.is_set():
            probe_to_candidates(searcher, f"BENCH-CAP-{n}-{time.time_ns()}", lambda *_: None)
            counts["searches"] += 1
            n += 1

    workers = ([threading.Thread(target=stream), threading.Thread(target=poll)] if preview else []) + (
        [threading.Thread(target=searches)] if search else []
    )
    for w in workers:
        w.start()
    time.sleep(2.0)  # the stream and the guide start; then measure
    cpu0, frames0, a0, wall0 = cpu_seconds(server.proc.pid), counts["frames"], (analysed or [0])[-1], time.monotonic()
    time.sleep(seconds)
    wall = time.monotonic() - wall0
    cpu = cpu_seconds(server.proc.pid) - cpu0
    result = {"fps": (counts["frames"] - frames0) / wall, "analyses": ((analysed or [0])[-1] - a0) / wall,
              "cpu": cpu / wall, "searches": counts["searches"]}  # fmt: skip
    stop.set()
    for w in workers:
        w.join(timeout=60)
    return result


def served(seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        frames = tmp / "frames"
        frames.mkdir()
        cv2.imwrite(str(frames / "face.png"), cv2.cvtColor(preview_frame(), cv2.COLOR_RGB2BGR))
        rows = []
        for name, fps in (("guidance-off", 0.0), ("guidance-on", 10.0)):
            server = Server(tmp, name, frames, fps)
            try:
                if fps == 0.0:
                    rows.append(("idle: no preview", phase(server, seconds, preview=False, search=False)))
                    rows.append(("preview, guidance off (guidance_fps = 0)", phase(server, seconds, True, False)))
                else:
                    rows.append(("preview + guidance (guidance_fps = 10)", phase(server, seconds, True, False)))
                    rows.append(("preview + guidance, searches beside it", phase(server, seconds, True, True)))
                    rows.append(("searches alone, no preview", phase(server, seconds, False, True)))
            finally:
                server.close()
    print(f"\nServed (fieldface demo, gunicorn gthread), preview 640x480 at preview_fps 10, {seconds:.0f} s per phase")
    print(f"{'':46} {'MJPEG fps':>10} {'analyses/s':>11} {'server CPU':>11} {'searches':>9}")
    for name, r in rows:
        print(f"{name:46} {r['fps']:10.1f} {r['analyses']:11.1f} {r['cpu']:11.2f} {r['searches']:9d}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--rounds", type=int, default=60, help="frames timed in process")
    parser.add_argument("-t", "--seconds", type=float, default=10.0, help="seconds measured per served phase")
    parser.add_argument("--no-serve", action="store_true", help="only the in-process timings")
    args = parser.parse_args()
    in_process(args.rounds)
    if not args.no_serve:
        served(args.seconds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
