"""The scan's biometric detector: image bytes, long base64, template-length float vectors."""

from __future__ import annotations

import base64
import json

import pytest
from lfr_retention.domain.detect import classify

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(2000)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(100)


@pytest.mark.parametrize(
    ("value", "label"),
    [
        (JPEG, "jpeg_bytes"),
        (PNG, "png_bytes"),
        (base64.b64encode(JPEG).decode(), "base64_jpeg"),
        (base64.b64encode(bytes(range(256)) * 8).decode(), "long_base64"),
        ("data:image/png;base64,AAAA", "data_url_image"),
        (json.dumps({"template": [0.1] * 512}), "float_vector_512"),
        (json.dumps({"nested": {"emb": [[0.5] * 128]}}).encode(), "float_vector_128"),
        ({"images": [{"blob": base64.b64encode(PNG * 10).decode()}]}, "base64_png"),
    ],
)
def test_biometric_looking_values_are_labelled(value: object, label: str) -> None:
    assert classify(value) == label


@pytest.mark.parametrize(
    "value",
    [
        None,
        3,
        0.74,
        "alert_media/dep-1/0123abcd",
        "a" * 64,
        bytes(61),
        b"\x01" + bytes(60),
        json.dumps({"score": 0.74, "crop_blob_key": "alert_media/dep-1/x"}),
        json.dumps({"counts": list(range(512))}),  # integers: a tally, not a template
        json.dumps({"vector": [0.1] * 100}),
    ],
)
def test_ordinary_values_are_not(value: object) -> None:
    assert classify(value) is None
