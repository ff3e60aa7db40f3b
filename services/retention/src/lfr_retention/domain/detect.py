"""Does a stored value look like biometric data? Pure heuristics for `lfr retention scan`.

Biometric here: image bytes (JPEG/PNG magic), long base64 text (an image or a template pasted into a
column or an event), and float vectors of a face-template length (128 or 512). The answer is a short
label, never the value: a scan report must not itself become a copy of the data it looks for.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

TEMPLATE_LENGTHS = frozenset({128, 512})
LONG_BASE64_CHARS = 1024
_MAGIC = {b"\xff\xd8\xff": "jpeg_bytes", b"\x89PNG\r\n\x1a\n": "png_bytes"}
_BASE64 = re.compile(r"^[A-Za-z0-9+/=_-]+$")
_MAX_DEPTH = 32


def _image_magic(raw: bytes) -> str | None:
    for magic, label in _MAGIC.items():
        if raw.startswith(magic):
            return label
    return None


def _is_float_vector(value: list[Any]) -> bool:
    return (
        len(value) in TEMPLATE_LENGTHS
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        and any(isinstance(v, float) for v in value)
    )


def classify(value: Any, depth: int = 0) -> str | None:
    """A label (`jpeg_bytes`, `png_bytes`, `long_base64`, `base64_jpeg`, `float_vector_512`, ...) or None."""
    if depth > _MAX_DEPTH or value is None or isinstance(value, bool | int | float):
        return None
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        label = _image_magic(raw)
        if label:
            return label
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
        return classify(text, depth + 1)
    if isinstance(value, str):
        return _classify_text(value, depth)
    if isinstance(value, list | tuple):
        if _is_float_vector(list(value)):
            return f"float_vector_{len(value)}"
        for item in value:
            if label := classify(item, depth + 1):
                return label
        return None
    if isinstance(value, dict):
        for item in value.values():
            if label := classify(item, depth + 1):
                return label
    return None


def _classify_text(text: str, depth: int) -> str | None:
    stripped = text.strip()
    if stripped[:1] in ("{", "[") and len(stripped) > 2:
        try:
            return classify(json.loads(stripped), depth + 1)
        except (ValueError, RecursionError):
            pass
    if stripped.startswith("data:image/"):
        return "data_url_image"
    if len(stripped) >= LONG_BASE64_CHARS and _BASE64.match(stripped):
        try:
            head = base64.b64decode(stripped[:64] + "=" * (-len(stripped[:64]) % 4), validate=False)
        except (binascii.Error, ValueError):
            head = b""
        magic = _image_magic(head)
        return f"base64_{magic.removesuffix('_bytes')}" if magic else "long_base64"
    return None
