"""The ledger's defensive check: references and hashes pass, anything that looks like biometric content
is refused."""

from __future__ import annotations

import base64
import os

import pytest
from lfr_audit.domain.biometric_guard import (
    BiometricContentRefused,
    check_no_biometrics,
    find_biometric_content,
)

REAL_EVENT_DATA = [
    # WatchlistEntryAdded as the watchlists service writes it: blob ids, never images.
    {
        "entry_id": "e-1",
        "details": {"category": "wanted_on_warrant", "reason": "Warrant 123", "image_source": "custody",
                    "image_source_other": None, "approved_by": "insp-9", "date_of_birth": "1990-01-02",
                    "age_band": None, "disability": False},
        "images": [{"image_blob_id": "watchlist_media/dep-1/b1",
                    "template_blob_id": "watchlist_media/dep-1/t1", "taken_on": "2024-03-01"}],
        "warnings": [{"code": "image_old", "message": "older than 5 years", "image_index": 0}],
        "revision": 3,
    },
    # FaceMatched / a faces-processed tally (architecture.md).
    {"deployment_id": "dep-1", "crop_blob_id": "alert_media/dep-1/c9", "score": 0.71, "track": 4,
     "crop_sha256": "ab" * 32},
    {"deployment_id": "dep-1", "faces_processed": 1200, "frames_processed": 300, "face_count": 7},
    {"form": {"cameras": ["cam-1"], "threshold": {"value": 0.6, "justification": None}}},
]  # fmt: skip


@pytest.mark.parametrize("data", REAL_EVENT_DATA)
def test_references_hashes_and_counts_pass(data: dict[str, object]) -> None:
    assert find_biometric_content(data) is None
    check_no_biometrics(data)


JPEG_B64 = base64.b64encode(b"\xff\xd8\xff\xe0" + os.urandom(600)).decode()

REFUSED = [
    ({"image": "cam-1/frame-9"}, "data.image"),
    ({"crop": JPEG_B64}, "data.crop"),
    ({"alert": {"liveCrop": JPEG_B64}}, "data.alert.liveCrop"),
    ({"note": JPEG_B64}, "encoded blob"),
    ({"note": "data:image/jpeg;base64,/9j/4AAQ"}, "data: URI"),
    ({"template": [0.01 * i for i in range(4)]}, "data.template"),
    ({"values": [0.5] * 512}, "512 floats"),
    ({"entries": [{"embedding": "AAAA"}]}, "data.entries[0].embedding"),
    ({"frame": b"\xff\xd8"}, "data.frame"),
    ({"raw": bytearray(b"jpeg")}, "raw bytes"),
]


@pytest.mark.parametrize(("data", "named"), REFUSED)
def test_biometric_content_is_refused_and_named(data: dict[str, object], named: str) -> None:
    problem = find_biometric_content(data)
    assert problem is not None and named in problem
    with pytest.raises(BiometricContentRefused):
        check_no_biometrics(data)
