"""The bad-input corpus (issue 9): hostile or broken uploads and bodies, generated compactly in memory."""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from PIL import Image

FIFTY_MB = 50 * 1024 * 1024


@dataclass(frozen=True)
class Sample:
    name: str
    content_type: str
    body: bytes
    is_image_like: bool = True


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (120, 80, 40)).save(out, "JPEG", quality=85)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` (30000 x 30000 = 2.7 GB of pixels): nothing of that
    size is ever allocated here; an intake that trusts the header before decoding would."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    row = b"\x00" + b"\x00" * 3 * 16
    idat = zlib.compress(row * 16, 9)  # a few rows: decoding must be refused before it gets this far
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def polyglot() -> bytes:
    """A valid JPEG with a ZIP archive appended (opens as either)."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("payload.sh", "#!/bin/sh\necho owned\n")
    return jpeg() + archive.getvalue()


SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)" width="10" '
    b'height="10"><image href="file:///etc/passwd"/></svg>'
)


def image_corpus() -> list[Sample]:
    whole = jpeg()
    return [
        Sample("truncated JPEG", "image/jpeg", whole[: len(whole) // 2]),
        Sample("30000x30000 PNG", "image/png", png_claiming(30000, 30000)),
        Sample("non-image", "image/jpeg", b"this is plain text pretending to be a photo\n" * 20),
        Sample("empty", "image/jpeg", b""),
        Sample("SVG", "image/svg+xml", SVG),
        Sample("polyglot JPEG+ZIP", "image/jpeg", polyglot()),
    ]


def json_corpus() -> list[Sample]:
    return [
        Sample("malformed JSON", "application/json", b'{"reason": "x", ', False),
        Sample("empty JSON body", "application/json", b"", False),
        Sample("JSON array instead of object", "application/json", b"[1, 2, 3]", False),
        Sample("JSON string instead of object", "application/json", b'"object expected"', False),
        Sample("invalid UTF-8", "application/json", b'{"reason": "\xff\xfe"}', False),
        Sample("deep nesting", "application/json", b"[" * 5000 + b"]" * 5000, False),
    ]


def fifty_megabytes() -> Iterator[bytes]:
    """50 MB sent in 1 MB chunks without Content-Length (a limit must count, not trust a header)."""
    chunk = b"\x00" * (1024 * 1024)
    for _ in range(FIFTY_MB // len(chunk)):
        yield chunk


def wrong_types(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any] | None:
    """An object with every declared property set to a value of the wrong JSON type."""
    schema = resolve(schema, components)
    properties = schema.get("properties")
    if not properties:
        return None
    wrong: dict[str, Any] = {}
    for name, prop in properties.items():
        prop = resolve(prop, components)
        kinds = {v.get("type") for v in prop.get("anyOf", [prop])}
        if kinds & {"string"}:
            wrong[name] = {"not": ["a string"]}
        elif kinds & {"integer", "number"}:
            wrong[name] = "not a number"
        elif kinds & {"array"}:
            wrong[name] = 12
        elif kinds & {"boolean"}:
            wrong[name] = [True]
        else:
            wrong[name] = 3.5
    return wrong


def resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = components["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema
