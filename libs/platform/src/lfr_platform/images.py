"""Hardened intake for uploaded images (watchlist photos, test probes).

Decided by content, never by file name or declared type: only JPEG and PNG are accepted. In order:
size limit -> magic bytes -> header-only open with a pixel limit (a 30000x30000 PNG is refused before a
single row is decoded) -> structural verify -> full decode (truncation is an error, not grey pixels) ->
nothing after the format's end marker (no polyglots) -> EXIF orientation applied, then every bit of
metadata dropped by re-encoding from pixels. Every refusal is an `InvalidInput` naming the problem.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from lfr_platform.errors import InvalidInput

JPEG_MAGIC = b"\xff\xd8\xff"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
PNG_TRAILER = b"IEND\xaeB`\x82"
JPEG_TRAILER = b"\xff\xd9"

ImageFormat = Literal["JPEG", "PNG"]

_KNOWN_REFUSALS: list[tuple[bytes, str]] = [
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"%PDF", "PDF"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000"),
]


class ImageRefused(InvalidInput):
    code = "invalid_image"


@dataclass(frozen=True)
class ImageLimits:
    max_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 40_000_000  # 40 MP: well above any camera still, far below a decompression bomb
    min_side: int = 1


@dataclass(frozen=True)
class AcceptedImage:
    """Decoded pixels only: no EXIF, ICC profile, comments or trailing data survive."""

    source_format: ImageFormat
    rgb: np.ndarray[Any, np.dtype[np.uint8]]  # (height, width, 3)

    @property
    def width(self) -> int:
        return int(self.rgb.shape[1])

    @property
    def height(self) -> int:
        return int(self.rgb.shape[0])

    def to_jpeg(self, quality: int = 92) -> bytes:
        buffer = io.BytesIO()
        Image.fromarray(self.rgb, mode="RGB").save(buffer, format="JPEG", quality=quality, optimize=True)
        return buffer.getvalue()


def accept_image(data: bytes, limits: ImageLimits = ImageLimits()) -> AcceptedImage:
    if not data:
        raise ImageRefused("the image is empty (0 bytes)")
    if len(data) > limits.max_bytes:
        raise ImageRefused(
            f"the image is {len(data)} bytes; the limit is {limits.max_bytes} bytes",
            details={"limit_bytes": limits.max_bytes},
        )
    image_format = sniff_format(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            _check_header(data, image_format, limits)
            _verify_structure(data, image_format)
            image = _decode(data, image_format)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning):
            raise ImageRefused("the image declares more pixels than allowed (decompression bomb?)") from None
    _check_trailer(data, image_format)
    return AcceptedImage(image_format, np.asarray(image, dtype=np.uint8).copy())


def sanitize_to_jpeg(data: bytes, limits: ImageLimits = ImageLimits(), quality: int = 92) -> bytes:
    """Accept an upload and return clean JPEG bytes (re-encoded from pixels: no metadata)."""
    return accept_image(data, limits).to_jpeg(quality)


def sniff_format(data: bytes) -> ImageFormat:
    if data.startswith(JPEG_MAGIC):
        return "JPEG"
    if data.startswith(PNG_MAGIC):
        return "PNG"
    head = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith((b"<?xml", b"<svg", b"<!doctype svg")) or b"<svg" in head:
        raise ImageRefused("SVG/XML images are not accepted; upload a JPEG or PNG photograph")
    if head.startswith((b"<!doctype html", b"<html", b"<script")):
        raise ImageRefused("this is HTML, not an image; upload a JPEG or PNG photograph")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        raise ImageRefused("WebP is not accepted; upload a JPEG or PNG photograph")
    for magic, name in _KNOWN_REFUSALS:
        if data.startswith(magic):
            raise ImageRefused(f"{name} is not accepted; upload a JPEG or PNG photograph")
    raise ImageRefused("not a JPEG or PNG image (checked by content, not file name)")


def _open(data: bytes, image_format: ImageFormat) -> Image.Image:
    try:
        return Image.open(io.BytesIO(data), formats=[image_format])
    except UnidentifiedImageError:
        raise ImageRefused(f"the {image_format} header is corrupt") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageRefused(f"the {image_format} header is corrupt: {error}") from None


def _check_header(data: bytes, image_format: ImageFormat, limits: ImageLimits) -> None:
    with _open(data, image_format) as image:  # header only: no pixel data decoded yet
        width, height = image.size
        frames = getattr(image, "n_frames", 1)
    if width * height > limits.max_pixels:
        raise ImageRefused(
            f"the image is {width}x{height} ({width * height:,} pixels); the limit is {limits.max_pixels:,}",
            details={"width": width, "height": height, "limit_pixels": limits.max_pixels},
        )
    if min(width, height) < limits.min_side:
        raise ImageRefused(f"the image is {width}x{height}; each side must be at least {limits.min_side} px")
    if frames != 1:
        raise ImageRefused("multi-frame images (animated PNG, multi-picture JPEG) are not accepted")


def _verify_structure(data: bytes, image_format: ImageFormat) -> None:
    with _open(data, image_format) as image:
        try:
            image.verify()  # chunk CRCs (PNG), marker structure (JPEG), without decoding pixels
        except (OSError, SyntaxError, ValueError, IndexError) as error:
            raise ImageRefused(f"the {image_format} data is corrupt: {error}") from None


def _decode(data: bytes, image_format: ImageFormat) -> Image.Image:
    with _open(data, image_format) as image:
        try:
            image.load()  # ImageFile.LOAD_TRUNCATED_IMAGES stays False: truncation is an error
            upright = ImageOps.exif_transpose(image)  # honour orientation before EXIF is discarded
            return upright.convert("RGB")
        except (OSError, SyntaxError, ValueError, IndexError) as error:
            reason = "truncated" if "truncated" in str(error) else f"corrupt ({error})"
            raise ImageRefused(f"the {image_format} image is {reason}") from None


def _check_trailer(data: bytes, image_format: ImageFormat) -> None:
    trailer = JPEG_TRAILER if image_format == "JPEG" else PNG_TRAILER
    body = data.rstrip(b"\x00") if image_format == "JPEG" else data  # some encoders pad JPEGs with zeros
    if not body.endswith(trailer):
        raise ImageRefused(
            f"the {image_format} has data after its end marker, or is truncated; "
            "files that are also another format (polyglots) are refused"
        )
