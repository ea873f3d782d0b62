"""A corpus of hostile images, made here (nothing stored): fed through ``analyze`` and the upload.

The two from the adversarial trial of issue 12 are here in the shape that hurt:

* ``apng_oversized_frame``: an animated PNG whose second frame (fcTL) is larger than the canvas;
  OpenCV 4.11's APNG reader writes past its buffer and the process dies of SIGSEGV.
* ``png_141_bytes``: a valid 626x1200 header, random bytes, an IEND: 141 bytes that made the
  decoder reserve about 4 GiB.

``corpus()`` adds the other classic shapes (bombs, truncations, lying chunk lengths, garbage).
"""

from __future__ import annotations

import random
import struct
import zlib

import cv2
import numpy as np

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def ihdr(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0))


def _rows(width: int, height: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (height, width * 3), dtype=np.uint8)
    return zlib.compress(b"".join(b"\x00" + row.tobytes() for row in pixels))


def _fctl(seq: int, width: int, height: int) -> bytes:
    return chunk(b"fcTL", struct.pack(">IIIIIHHBB", seq, width, height, 0, 0, 1, 10, 0, 0))


def apng_oversized_frame(canvas: int = 64, frame: int = 640) -> bytes:
    """Two frames; the second declares ``frame`` x ``frame`` pixels on a ``canvas`` square."""
    return (
        PNG_SIGNATURE
        + ihdr(canvas, canvas)
        + chunk(b"acTL", struct.pack(">II", 2, 0))
        + _fctl(0, canvas, canvas)
        + chunk(b"IDAT", _rows(canvas, canvas, 1))
        + _fctl(1, frame, frame)
        + chunk(b"fdAT", struct.pack(">I", 2) + _rows(frame, frame, 2))
        + chunk(b"IEND", b"")
    )


def png_141_bytes(seed: int = 12) -> bytes:
    """626x1200 RGB header, 96 random bytes, IEND: 141 bytes in all."""
    noise = random.Random(seed).randbytes(96)
    data = PNG_SIGNATURE + ihdr(626, 1200) + noise + chunk(b"IEND", b"")
    assert len(data) == 141
    return data


def corpus() -> dict[str, bytes]:
    """Name -> bytes; every one must be refused with one line (none is a usable photo)."""
    rng = random.Random(1200)
    good_png = cv2.imencode(".png", np.full((48, 48, 3), 90, np.uint8))[1].tobytes()
    good_jpeg = cv2.imencode(".jpg", np.full((48, 48, 3), 90, np.uint8))[1].tobytes()
    return {
        "apng-oversized-frame": apng_oversized_frame(),
        "apng-small": apng_oversized_frame(64, 64),
        "png-141-bytes": png_141_bytes(),
        "png-lying-chunk-length": PNG_SIGNATURE + ihdr(64, 64) + struct.pack(">I", 0xFFFFFFF0) + b"IDAT" + b"\0" * 40,
        "png-bomb-header": PNG_SIGNATURE
        + ihdr(60_000, 60_000)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b""),
        "png-no-idat": PNG_SIGNATURE + ihdr(64, 64) + chunk(b"IEND", b""),
        "png-cut": good_png[: len(good_png) // 2],
        "png-garbage-idat": PNG_SIGNATURE + ihdr(64, 64) + chunk(b"IDAT", rng.randbytes(200)) + chunk(b"IEND", b""),
        "jpeg-cut": good_jpeg[: len(good_jpeg) // 2],
        "jpeg-garbage-scan": good_jpeg[:200] + rng.randbytes(300) + b"\xff\xd9",
        "jpeg-huge-header": good_jpeg[:2] + b"\xff\xc0\x00\x11\x08\xff\xff\xff\xff\x03" + b"\0" * 9 + b"\xff\xd9",
        "random-bytes": rng.randbytes(1024),
        "empty": b"",
    }
