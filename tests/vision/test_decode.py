"""Every kind of bad input gets one clear ImageError; EXIF orientation is honoured."""

from __future__ import annotations

import struct
import zlib

import cv2
import numpy as np
import pytest

from device.errors import ImageError, UsageError
from device.vision import decode as decode_module
from device.vision.decode import decode_image, read_header
from tests.vision.conftest import encode, photo_bytes, photo_rgb

LIMIT = 50_000_000


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int, depth: int = 8, colour: int = 2) -> bytes:
    """A PNG whose header claims a size; the (empty) image data would never decode to it."""
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (
        decode_module.PNG_SIGNATURE
        + png_chunk(b"IHDR", ihdr)
        + png_chunk(b"IDAT", zlib.compress(b""))
        + png_chunk(b"IEND", b"")
    )


def with_exif_orientation(jpeg: bytes, orientation: int) -> bytes:
    """Insert an APP1 Exif segment (big-endian TIFF, IFD0 with one Orientation entry) after SOI."""
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIH2x", 0x0112, 3, 1, orientation) + struct.pack(">I", 0)
    payload = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload + jpeg[2:]


def cmyk_jpeg() -> bytes:
    """A JPEG whose frame header says 4 components (Adobe CMYK), made by patching a real one."""
    data = bytearray(photo_bytes("obama.jpg"))
    pos = 2
    while data[pos + 1] not in decode_module.JPEG_SOF:  # walk the segments: FF xx, then a 2-byte length
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    data[pos + 9] = 4  # FF Cx, length(2), precision(1), height(2), width(2), components
    return bytes(data)


BAD_INPUTS = {
    "empty": (b"", "empty"),
    "text": (b"hello, this is not a picture\n" * 10, "not a JPEG or PNG"),
    "gif": (b"GIF89a" + b"\x00" * 100, "not a JPEG or PNG"),
    "truncated jpeg": (photo_bytes("obama.jpg")[:60_000], "truncated JPEG"),
    "jpeg cut, end marker kept": (
        photo_bytes("obama.jpg")[:100_000] + b"\xff\xd9",
        "part of the image data is missing",
    ),
    "jpeg cut in header": (photo_bytes("obama.jpg")[:300], "damaged JPEG"),
    "truncated png": (photo_bytes("astronaut.png")[:200_000], "truncated PNG"),
    "cmyk jpeg": (cmyk_jpeg(), "CMYK"),
    "16-bit png": (cv2.imencode(".png", np.full((64, 64, 3), 40000, np.uint16))[1].tobytes(), "16-bit"),
    "transparent png": (
        cv2.imencode(".png", np.dstack([np.zeros((64, 64, 3), np.uint8), np.full((64, 64), 128, np.uint8)]))[
            1
        ].tobytes(),
        "transparent",
    ),
    "bomb": (png_header_only(100_000, 100_000), "too large"),
    "zero size": (png_header_only(0, 10), "0x10"),
    "corrupt png data": (png_header_only(64, 64), "cannot be decoded"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_is_one_clear_usage_error(case):
    data, words = BAD_INPUTS[case]
    with pytest.raises(ImageError) as caught:
        decode_image(data, LIMIT)
    assert isinstance(caught.value, UsageError) and caught.value.exit_code == 2
    message = str(caught.value)
    assert words in message and "\n" not in message and len(message) < 200


def test_huge_image_is_refused_before_it_is_decoded(monkeypatch):
    def must_not_decode(*args):
        raise AssertionError("the decoder ran on an image above the limit")

    monkeypatch.setattr(decode_module.cv2, "imdecode", must_not_decode)
    data = photo_bytes("obama.jpg")  # 910 x 1137 = 1.03 megapixels
    with pytest.raises(ImageError, match=r"910x1137 = 1\.0 megapixels \(limit vision.max_pixels = 1\.0"):
        decode_image(data, 1_000_000)


def test_opaque_alpha_png_and_grey_jpeg_are_accepted():
    rgba = decode_image(photo_bytes("32bit.png"), LIMIT)  # RGBA, every pixel opaque
    assert rgba.rgb.shape == (1200, 626, 3)
    grey = decode_image(
        cv2.imencode(".jpg", cv2.cvtColor(photo_rgb("obama.jpg"), cv2.COLOR_RGB2GRAY))[1].tobytes(), LIMIT
    )
    assert grey.rgb.shape == (1137, 910, 3) and grey.header.format == "jpeg"


def test_decoded_pixels_are_rgb():
    rgb = np.zeros((40, 60, 3), np.uint8)
    rgb[..., 0] = 200  # pure red
    image = decode_image(encode(rgb), LIMIT)
    assert image.rgb[0, 0].tolist() == [200, 0, 0]
    assert (image.width, image.height) == (60, 40)


@pytest.mark.parametrize(
    ("orientation", "undo"),
    [
        (3, lambda rgb: cv2.rotate(rgb, cv2.ROTATE_180)),
        (6, lambda rgb: cv2.rotate(rgb, cv2.ROTATE_90_COUNTERCLOCKWISE)),
        (8, lambda rgb: cv2.rotate(rgb, cv2.ROTATE_90_CLOCKWISE)),
    ],
)
def test_exif_orientation_is_applied(recognizer, orientation, undo):
    """A camera stores the sensor's pixels and a tag saying how to turn them: we must turn them."""
    upright = photo_rgb("obama.jpg")
    stored = undo(upright)
    jpeg = with_exif_orientation(encode(stored, ".jpg", (cv2.IMWRITE_JPEG_QUALITY, 95)), orientation)
    assert read_header(jpeg).orientation == orientation
    analysis = recognizer.analyze(jpeg)
    assert (analysis.width, analysis.height, analysis.orientation) == (910, 1137, orientation)
    reference = recognizer.analyze(photo_bytes("obama.jpg")).faces[0]
    face = analysis.faces[0]
    assert np.allclose(face.box, reference.box, atol=8)
    assert recognizer.embed(face).similarity(recognizer.embed(reference)) > 0.97


def test_unreadable_exif_block_means_upright():
    jpeg = photo_bytes("obama.jpg")
    broken = jpeg[:2] + b"\xff\xe1\x00\x0cExif\x00\x00MM\x00\x2a" + jpeg[2:]
    assert read_header(broken).orientation == 1
    assert decode_image(broken, LIMIT).rgb.shape == (1137, 910, 3)
