"""A defensive check before recording: the ledger holds references and hashes, never biometric data.

Producers are already forbidden from putting images, crops or templates in events; the ledger is kept for
years and shown to oversight, so it refuses (rather than records) an event that breaks the rule anyway:

* any bytes-like value (bytes, bytearray, memoryview);
* a string that looks like an encoded blob: a `data:` URI, or a long (>= 256 chars) unbroken run of the
  base64/hex alphabet (blob ids, UUIDs and SHA-256 hex are far shorter);
* a list of >= 32 floats (an embedding vector);
* a key naming biometric content (image, crop, template, frame, embedding, face, landmarks, ...) whose
  value is a string or a list of scalars, unless the key says it is *about* that content (`*_blob_id`,
  `*_hash`, `*_source`, `*_count`, `taken_on`, ...). Numbers and booleans are counts, scores and flags.

Pure: `find_biometric_content(data)` returns a description of the first problem, or None.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

BIOMETRIC_WORDS = frozenset(
    {
        "image", "images", "img", "photo", "photos", "picture", "crop", "crops", "template", "templates",
        "frame", "frames", "embedding", "embeddings", "face", "faces", "landmark", "landmarks", "jpeg",
        "jpg", "png", "biometric", "biometrics", "feature", "features", "vector",
    }
)  # fmt: skip
# A key holding one of these words is metadata about the biometric thing, not the thing itself.
QUALIFIER_WORDS = frozenset(
    {
        "id", "ids", "ref", "refs", "reference", "references", "hash", "hashes", "sha256", "digest",
        "source", "other", "count", "counts", "total", "processed", "taken", "on", "at", "date", "kind",
        "type", "version", "quality", "size", "width", "height", "index", "warning", "warnings",
        "status", "reason", "policy", "class", "key", "blob", "number", "rate", "per", "score", "model",
    }
)  # fmt: skip
MIN_BLOB_CHARS = 256
MIN_VECTOR_LENGTH = 32
_ENCODED = re.compile(r"^[A-Za-z0-9+/=_\-]+$")
_SPLIT = re.compile(r"[^a-z0-9]+|(?<=[a-z0-9])(?=[A-Z])")


class BiometricContentRefused(ValueError):
    """The event's data carries (or looks like it carries) biometric content."""


def find_biometric_content(data: Any, path: str = "data") -> str | None:
    if isinstance(data, bytes | bytearray | memoryview):
        return f"{path} holds raw bytes"
    if isinstance(data, str):
        return _blob_string(data, path)
    if isinstance(data, Mapping):
        for key, value in data.items():
            where = f"{path}.{key}"
            if _names_biometric_content(str(key)) and _is_content(value):
                return f"{where}: a key naming biometric content holds a value, not a reference"
            problem = find_biometric_content(value, where)
            if problem is not None:
                return problem
        return None
    if isinstance(data, list | tuple):
        floats = sum(1 for item in data if isinstance(item, float))
        if floats >= MIN_VECTOR_LENGTH:
            return f"{path} is a vector of {floats} floats (an embedding?)"
        for index, item in enumerate(data):
            problem = find_biometric_content(item, f"{path}[{index}]")
            if problem is not None:
                return problem
    return None


def check_no_biometrics(data: Any) -> None:
    problem = find_biometric_content(data)
    if problem is not None:
        raise BiometricContentRefused(problem)


def _blob_string(text: str, path: str) -> str | None:
    if text[:5].lower() == "data:":
        return f"{path} is a data: URI"
    if len(text) >= MIN_BLOB_CHARS and _ENCODED.match(text):
        return f"{path} is a {len(text)}-character encoded blob"
    return None


def _names_biometric_content(key: str) -> bool:
    words = {word.lower() for word in _SPLIT.split(key) if word}
    return bool(words & BIOMETRIC_WORDS) and not (words & QUALIFIER_WORDS)


def _is_content(value: Any) -> bool:
    """Strings, bytes and lists of scalars can be content; numbers, booleans, None and objects cannot
    (objects and lists of objects are searched key by key instead)."""
    if isinstance(value, str | bytes | bytearray | memoryview):
        return True
    if isinstance(value, list | tuple):
        return any(not isinstance(item, Mapping | list | tuple) for item in value)
    return False
