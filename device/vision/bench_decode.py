"""What isolating the decoder costs per photo: in-process decoding (the old way) vs the child pool.

    python -m device.vision.bench_decode [--rounds N] [IMAGE ...]   (scripts/bench runs it)

Both sides do the same work: the header checks, OpenCV's decode, RGB and orientation. The
in-process side also redirects fd 2 around the decode, as decode.py did before (that is how a
truncated JPEG was caught); the pool side adds the memfd round trip to a warm child. A synthetic
12-megapixel camera still (4056x3040, the Raspberry Pi HQ camera's full size) is added so the cost
of moving big pixel arrays shows.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from device.vision.decode import check_header, decode_pixels
from device.vision.native_stderr import native_stderr_to_log
from device.vision.safe_decode import DecodePool

MAX_PIXELS = 50_000_000


def camera_still() -> bytes:
    """A 4056x3040 JPEG with camera-like content (smooth gradients and noise), quality 90."""
    rng = np.random.default_rng(12)
    y, x = np.mgrid[0:3040, 0:4056]
    base = np.dstack([(x / 16) % 256, (y / 12) % 256, ((x + y) / 28) % 256]).astype(np.float32)
    noisy = np.clip(base + rng.normal(0, 6, base.shape), 0, 255).astype(np.uint8)
    return cv2.imencode(".jpg", noisy, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def in_process(data: bytes) -> np.ndarray:
    header = check_header(data, MAX_PIXELS)
    with native_stderr_to_log("image decoder") as lines:
        return decode_pixels(data, header, lambda: lines)


def measure(photos: list[tuple[str, bytes]], rounds: int) -> list[str]:
    pool = DecodePool(workers=1, timeout_s=60)
    try:
        for _, data in photos:  # warm both: the child starts, caches fill
            pool.decode(data, check_header(data, MAX_PIXELS))
            in_process(data)
        out = [f"decode isolation, median of {rounds} rounds (ms per photo)",
               f"{'photo':<28}{'pixels':>10}{'in-process':>12}{'child pool':>12}{'added':>9}"]  # fmt: skip
        added = []
        for name, data in photos:
            local, child = [], []
            for _ in range(rounds):  # interleaved, so both see the same machine load
                t0 = time.perf_counter()
                in_process(data)
                t1 = time.perf_counter()
                pool.decode(data, check_header(data, MAX_PIXELS))
                t2 = time.perf_counter()
                local.append((t1 - t0) * 1e3)
                child.append((t2 - t1) * 1e3)
            header = check_header(data, MAX_PIXELS)
            a, b = statistics.median(local), statistics.median(child)
            added.append(b - a)
            pixels = f"{header.width * header.height / 1e6:.1f} MP"
            out.append(f"{name[:27]:<28}{pixels:>10}{a:>12.2f}{b:>12.2f}{b - a:>9.2f}")
        out.append(f"added per photo: median {statistics.median(added):.2f} ms, worst {max(added):.2f} ms")
        return out
    finally:
        pool.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("images", nargs="*", type=Path)
    args, _unknown = parser.parse_known_args(argv)  # scripts/bench passes `fieldface bench` options too
    photos = [(p.name, p.read_bytes()) for p in args.images if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
    photos.append(("synthetic 12 MP camera still", camera_still()))
    print("\n".join(measure(photos, max(args.rounds, 3))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
