"""A bad-input corpus of real files against the image intake: each refusal names its problem."""

import io
import struct
import zlib

import numpy as np
import pytest
from lfr_platform.errors import InvalidInput
from lfr_platform.images import ImageLimits, accept_image, sanitize_to_jpeg
from PIL import Image


def gradient(width: int = 64, height: int = 48) -> Image.Image:
    x = np.linspace(0, 255, width, dtype=np.uint8)
    y = np.linspace(0, 255, height, dtype=np.uint8)
    rgb = np.stack(
        [np.tile(x, (height, 1)), np.tile(y[:, None], (1, width)), np.full((height, width), 90, np.uint8)], 2
    )
    return Image.fromarray(rgb, "RGB")


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def png_header_only(width: int, height: int) -> bytes:
    """A PNG declaring width x height but carrying one compressed row: the shape of a decompression bomb."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    idat = zlib.compress(b"\x00" * (width + 1))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def exif_with_gps_and_orientation(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "Custody Suite Camera 3"  # Make
    exif.get_ifd(0x8825)[2] = (51.0, 30.0, 0.0)  # GPSLatitude
    return exif


def test_jpeg_and_png_are_decoded_to_rgb() -> None:
    for fmt in ("JPEG", "PNG"):
        accepted = accept_image(encode(gradient(), fmt))
        assert accepted.source_format == fmt
        assert accepted.rgb.shape == (48, 64, 3) and accepted.rgb.dtype == np.uint8


def test_metadata_is_stripped_and_orientation_applied() -> None:
    original = encode(gradient(64, 48), "JPEG", exif=exif_with_gps_and_orientation(6))
    assert b"Custody Suite" in original
    accepted = accept_image(original)
    assert (accepted.width, accepted.height) == (48, 64)  # rotated upright, as a viewer would show it
    clean = accepted.to_jpeg()
    assert b"Custody Suite" not in clean and b"Exif" not in clean
    assert not Image.open(io.BytesIO(clean)).getexif()


@pytest.mark.parametrize("mode", ["L", "LA", "P", "RGBA", "I;16", "1"])
def test_png_colour_modes_become_rgb(mode: str) -> None:
    image = gradient().convert("L").convert(mode) if mode != "I;16" else Image.new("I;16", (20, 10), 1000)
    assert accept_image(encode(image, "PNG")).rgb.shape[2] == 3


def test_cmyk_jpeg_becomes_rgb() -> None:
    assert accept_image(encode(gradient().convert("CMYK"), "JPEG")).rgb.shape == (48, 64, 3)


def _svg() -> bytes:
    return b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


CORPUS = {
    "empty": (b"", "empty"),
    "truncated JPEG": (encode(gradient(320, 240), "JPEG")[:1500], "truncated"),
    "truncated PNG": (encode(gradient(320, 240), "PNG")[:700], "PNG"),
    "30000x30000 PNG": (png_header_only(30000, 30000), "pixels"),
    "8000x8000 PNG over our limit": (png_header_only(8000, 8000), "64,000,000 pixels"),
    "SVG": (_svg(), "SVG"),
    "SVG without prolog": (b"  <svg xmlns='http://www.w3.org/2000/svg'/>", "SVG"),
    "HTML": (b"<!DOCTYPE html><html><script>x</script></html>", "HTML"),
    "plain text named .jpg": (b"this is not an image, whatever the file is called", "not a JPEG or PNG"),
    "GIF": (encode(gradient(), "GIF"), "GIF"),
    "BMP": (encode(gradient(), "BMP"), "BMP"),
    "WebP": (encode(gradient(), "WEBP"), "WebP"),
    "TIFF": (encode(gradient(), "TIFF"), "TIFF"),
    "PDF": (b"%PDF-1.7\n%...", "PDF"),
    "JPEG + ZIP polyglot": (
        encode(gradient(), "JPEG") + b"PK\x03\x04" + b"\x00" * 40 + b"PK\x05\x06" + b"\x00" * 18,
        "polyglot",
    ),
    "PNG + HTML polyglot": (
        encode(gradient(), "PNG") + b"<html><script>alert(1)</script></html>",
        "polyglot",
    ),
    "JPEG magic then garbage": (b"\xff\xd8\xff\xe0" + b"\x13" * 200, "JPEG"),
    "PNG with bad CRC": (lambda b: b[:40] + bytes([b[40] ^ 0xFF]) + b[41:])(encode(gradient(), "PNG")),
}
CORPUS["PNG with bad CRC"] = (CORPUS["PNG with bad CRC"], "corrupt")


@pytest.mark.parametrize("name", list(CORPUS))
def test_bad_input_corpus_is_refused_with_a_clear_message(name: str) -> None:
    data, expected = CORPUS[name]
    with pytest.raises(InvalidInput) as refusal:
        accept_image(data)
    assert expected.lower() in refusal.value.message.lower(), refusal.value.message
    assert refusal.value.http_status == 400


def test_size_limit_is_checked_before_decoding() -> None:
    with pytest.raises(InvalidInput, match="limit is 100 bytes"):
        accept_image(encode(gradient(), "PNG"), ImageLimits(max_bytes=100))


def test_minimum_side() -> None:
    with pytest.raises(InvalidInput, match="at least 32 px"):
        accept_image(encode(gradient(64, 20), "PNG"), ImageLimits(min_side=32))


def test_animated_png_is_refused() -> None:
    frames = [gradient(), gradient().transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    data = encode(frames[0], "PNG", save_all=True, append_images=frames[1:])
    with pytest.raises(InvalidInput, match="multi-frame"):
        accept_image(data)


def test_sanitize_returns_a_clean_jpeg_for_a_png() -> None:
    png = encode(gradient(), "PNG", pnginfo=_png_text("Comment", "name=John Smith"))
    assert b"John Smith" in png
    jpeg = sanitize_to_jpeg(png)
    assert jpeg.startswith(b"\xff\xd8\xff") and b"John Smith" not in jpeg
    assert accept_image(jpeg).rgb.shape == (48, 64, 3)


def _png_text(key: str, value: str) -> object:
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text(key, value)
    return info
