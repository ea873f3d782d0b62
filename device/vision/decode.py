"""Image bytes to an upright RGB array, refusing anything odd before it reaches a decoder.

Only JPEG and PNG are accepted (what cameras and screenshots produce). The header is read first and
the image refused if it claims more than ``max_pixels`` pixels (a decompression bomb is a few KiB that
decode to gigabytes), if it is CMYK or 12/16-bit (no faithful 8-bit RGB without a colour profile or a
tone curve we would be guessing), or if it is cut short. PNG alpha is accepted only when every pixel
is opaque: a transparent pixel's colour is undefined. EXIF orientation is read here and applied to
the pixels, so every later stage sees the picture the way a person sees it.

A PNG's chunk structure is walked before any decoder sees it: every declared chunk length must fit
in the file (a 141-byte PNG whose random bytes declare a 4 GiB chunk made OpenCV reserve 4 GiB), and
animated PNG (acTL/fcTL/fdAT) is refused (OpenCV 4.11's APNG reader segfaults on a frame larger than
the canvas). The pixels themselves are decoded by OpenCV in a child process with a memory and time
limit (device/vision/safe_decode.py): ``decode_image`` goes through that pool, ``decode_pixels`` is
what runs inside the child.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import cv2
import numpy as np

from device.errors import ImageError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
JPEG_SOI = b"\xff\xd8\xff"
# Start-of-frame markers (baseline, progressive, lossless, arithmetic); not C4/C8/CC (tables).
JPEG_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
JPEG_SOS, JPEG_EOI, JPEG_APP1 = 0xDA, b"\xff\xd9", 0xE1
PNG_IEND = b"IEND\xaeB`\x82"
# APNG's chunks: the animation control, frame control and frame data.
PNG_ANIMATION = {b"acTL", b"fcTL", b"fdAT"}


@dataclass(frozen=True)
class ImageHeader:
    format: str  # "jpeg" | "png"
    width: int  # as stored, before EXIF orientation
    height: int
    orientation: int = 1  # EXIF 1..8; 1 = stored upright


@dataclass(frozen=True)
class DecodedImage:
    rgb: np.ndarray  # (height, width, 3) uint8, upright
    header: ImageHeader

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])


def read_header(data: bytes) -> ImageHeader:
    if not data:
        raise ImageError("the file is empty (0 bytes)")
    if data.startswith(JPEG_SOI):
        return _jpeg_header(data)
    if data.startswith(PNG_SIGNATURE):
        return _png_header(data)
    raise ImageError("not a JPEG or PNG image (only those two formats are accepted)")


def _jpeg_header(data: bytes) -> ImageHeader:
    pos, orientation, frame = 2, 1, None
    while True:
        # Markers may be preceded by any number of 0xFF fill bytes.
        while pos < len(data) and data[pos] == 0xFF:
            pos += 1
        if pos + 3 > len(data):
            raise ImageError("damaged JPEG: it ends inside its header")
        marker = data[pos]
        pos += 1
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:  # standalone markers have no length
            continue
        (length,) = struct.unpack(">H", data[pos : pos + 2])
        segment = data[pos + 2 : pos + length]
        if length < 2 or len(segment) != length - 2:
            raise ImageError("damaged JPEG: a header segment is cut short")
        if marker == JPEG_APP1 and segment.startswith(b"Exif\0\0"):
            orientation = _exif_orientation(segment[6:])
        elif marker in JPEG_SOF:
            if len(segment) < 6:
                raise ImageError("damaged JPEG: the frame header is cut short")
            precision, height, width, components = struct.unpack(">BHHB", segment[:6])
            frame = (precision, height, width, components)
        elif marker == JPEG_SOS:
            break
        pos += length
    if frame is None:
        raise ImageError("damaged JPEG: no frame header before the image data")
    precision, height, width, components = frame
    if components == 4:
        raise ImageError("CMYK JPEG is not supported: convert it to an RGB JPEG or PNG first")
    if precision != 8 or components not in (1, 3):
        raise ImageError(f"unsupported JPEG ({precision}-bit, {components} channels): only 8-bit grey or RGB")
    if data.rfind(JPEG_EOI) < pos:
        raise ImageError("truncated JPEG: the file ends before the image data does")
    return ImageHeader("jpeg", width, height, orientation)


def _exif_orientation(tiff: bytes) -> int:
    """The Orientation tag (0x0112) of IFD0, 1 if absent or unreadable (a bad EXIF block is common)."""
    order = {b"II": "<", b"MM": ">"}.get(tiff[:2])
    if order is None or len(tiff) < 8:
        return 1
    (ifd,) = struct.unpack(order + "I", tiff[4:8])
    if ifd + 2 > len(tiff):
        return 1
    (count,) = struct.unpack(order + "H", tiff[ifd : ifd + 2])
    for i in range(count):
        entry = tiff[ifd + 2 + 12 * i : ifd + 14 + 12 * i]
        if len(entry) < 12:
            return 1
        tag, kind, _, value = struct.unpack(order + "HHI2s", entry[:10])
        if tag == 0x0112 and kind == 3:  # SHORT
            (orientation,) = struct.unpack(order + "H", value)
            return orientation if 1 <= orientation <= 8 else 1
    return 1


def _png_header(data: bytes) -> ImageHeader:
    if len(data) < 33 or data[12:16] != b"IHDR":
        raise ImageError("damaged PNG: no image header")
    width, height, depth, colour = struct.unpack(">IIBB", data[16:26])
    if depth == 16:
        raise ImageError("16-bit PNG is not supported: save it as an 8-bit PNG or a JPEG first")
    if colour not in (0, 2, 3, 4, 6) or depth not in (1, 2, 4, 8):
        raise ImageError(f"damaged or unsupported PNG (bit depth {depth}, colour type {colour})")
    if data.rfind(PNG_IEND) < 33:
        raise ImageError("truncated PNG: the file ends before the image data does")
    return ImageHeader("png", width, height)


def _png_chunks(data: bytes) -> None:
    """Walk the chunks: each declared length must fit in the file, no animation, IHDR first, IEND last."""
    pos, kinds = 8, []
    while pos < len(data):
        if pos + 12 > len(data):
            raise ImageError("truncated PNG: the file ends inside a chunk header")
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        if length > len(data) - pos - 12:
            raise ImageError(f"truncated or damaged PNG: a chunk declares {length} bytes, more than the file holds")
        if kind in PNG_ANIMATION:
            raise ImageError("animated PNG is not supported: save one frame as a PNG or JPEG first")
        if not kind.isalpha():
            raise ImageError("damaged PNG: a chunk has no valid type")
        kinds.append(kind)
        pos += 12 + length
        if kind == b"IEND":
            break
    if kinds[:1] != [b"IHDR"] or b"IDAT" not in kinds or kinds[-1] != b"IEND":
        raise ImageError("truncated or damaged PNG: the chunks are not IHDR ... IDAT ... IEND")


def check_header(data: bytes, max_pixels: int) -> ImageHeader:
    """Everything that can be known without decoding pixels: format, size limit, PNG structure."""
    header = read_header(data)
    if header.width <= 0 or header.height <= 0:
        raise ImageError(f"damaged image: it claims to be {header.width}x{header.height} pixels")
    pixels = header.width * header.height
    if pixels > max_pixels:
        raise ImageError(
            f"image too large: {header.width}x{header.height} = {pixels / 1e6:.1f} megapixels "
            f"(limit vision.max_pixels = {max_pixels / 1e6:.1f} megapixels)"
        )
    if header.format == "png":
        _png_chunks(data)
    return header


def decode_image(data: bytes, max_pixels: int, pool=None) -> DecodedImage:
    """Bytes of a JPEG or PNG to an upright RGB image, or an ImageError saying why not.

    The header checks run here; the pixels are decoded in a child process of ``pool`` (a
    safe_decode.DecodePool the caller owns), so a decoder crash, runaway allocation or hang is one
    ImageError and this process lives on. Without a pool (a one-off decode: tests, tools) one child
    is started for this image and ended after it."""
    from device.vision.safe_decode import DecodePool

    header = check_header(data, max_pixels)
    if pool is not None:
        return DecodedImage(pool.decode(data, header), header)
    once = DecodePool(workers=1)
    try:
        return DecodedImage(once.decode(data, header), header)
    finally:
        once.close()


def decode_pixels(data: bytes, header: ImageHeader, native_messages) -> np.ndarray:
    """The upright RGB pixels (in the decoding child); ``native_messages()`` returns what the
    native decoder printed on fd 2 during the call."""
    # EXIF orientation is applied below, from our own reading of the tag, so that the result does
    # not depend on how a given OpenCV build treats it; PNG is read unchanged to see its alpha.
    flags = cv2.IMREAD_UNCHANGED if header.format == "png" else cv2.IMREAD_COLOR | cv2.IMREAD_IGNORE_ORIENTATION
    image = cv2.imdecode(np.frombuffer(data, np.uint8), flags)
    messages = native_messages()
    # libjpeg fills missing rows with grey and only says so on stderr; a face half made of
    # invented pixels must not be searched with. (Other libjpeg warnings are harmless.)
    if any("premature end" in line.lower() for line in messages):
        raise ImageError(f"truncated or damaged {header.format.upper()}: part of the image data is missing")
    if image is None or image.dtype != np.uint8 or image.shape[:2] != (header.height, header.width):
        raise ImageError(f"damaged {header.format.upper()}: the image data cannot be decoded")
    return _orient(_to_rgb(image), header.orientation)


def _to_rgb(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    if image.shape[2] == 4:
        if image[:, :, 3].min() < 255:
            raise ImageError(
                "PNG with transparent pixels is not supported: their colour is undefined; "
                "flatten it onto a background first"
            )
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGB)
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _orient(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """Apply EXIF orientation 2..8 (TIFF 6.0 semantics); 1 is already upright."""
    if orientation == 2:
        return cv2.flip(rgb, 1)
    if orientation == 3:
        return cv2.rotate(rgb, cv2.ROTATE_180)
    if orientation == 4:
        return cv2.flip(rgb, 0)
    if orientation == 5:
        return cv2.transpose(rgb)
    if orientation == 6:
        return cv2.rotate(rgb, cv2.ROTATE_90_CLOCKWISE)
    if orientation == 7:
        return cv2.flip(cv2.transpose(rgb), -1)
    if orientation == 8:
        return cv2.rotate(rgb, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return rgb
