"""Every entry rule through the REST API, table-driven: each row fails if its rule is removed. Enrolment
refusals come from the real FacePipeline (no face, several faces, too small, too blurred)."""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import pytest

from tests.integration.watchlists._env import API, WatchlistsEnv, encode, side_by_side

# (case, form changes, expected status, expected error code)
FIELD_RULES: list[tuple[str, dict[str, Any], int, str]] = [
    ("reason blank", {"reason": "   "}, 422, "reason_required"),
    ("other category without text", {"category": "other"}, 422, "category_detail_required"),
    ("other image source without text", {"image_source": "other"}, 422, "image_source_detail_required"),
    ("approver blank", {"approved_by": "  "}, 422, "approver_required"),
    ("approver missing", {"approved_by": None}, 400, "invalid_entry_fields"),
    ("unknown category", {"category": "looks_suspicious"}, 400, "invalid_entry_fields"),
    ("no age evidence", {"date_of_birth": None}, 422, "age_evidence_required"),
    ("date of birth and age band", {"age_band": "18_plus"}, 422, "age_evidence_ambiguous"),
    ("date of birth in future", {"date_of_birth": "2030-01-01", "image_taken_on": "2025-01-10"},
     422, "date_of_birth_in_future"),
    ("image taken in future", {"image_taken_on": "2027-01-01"}, 422, "image_date_in_future"),
    ("image before birth", {"image_taken_on": "1989-01-01"}, 422, "image_before_birth"),
    ("two dates for one image", {"image_taken_on": "2025-01-10,2025-02-10"}, 400, "image_dates_mismatch"),
    ("bad entry id", {"entry_id": "../etc"}, 400, "invalid_entry_fields"),
]


@pytest.mark.parametrize(("case", "changes", "status", "code"), FIELD_RULES, ids=[r[0] for r in FIELD_RULES])
async def test_field_rules(env: WatchlistsEnv, faces, case, changes, status, code) -> None:
    wl = await env.create()
    response = await env.add(wl, [faces["obama"]], **changes)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    assert len(await env.events(wl)) == 1  # nothing but WatchlistCreated


async def test_other_category_and_source_with_text_are_accepted(env: WatchlistsEnv, faces) -> None:
    wl = await env.create()
    response = await env.add(wl, [faces["obama"]], category="other", category_other="Breach of SHPO",
                             image_source="other", image_source_other="Passport office", age_band="18_plus",
                             date_of_birth=None)
    assert response.status_code == 201, response.text


def _refusal_images(heads: dict[str, np.ndarray]) -> dict[str, bytes]:
    obama, biden = heads["obama"], heads["biden"]
    small = cv2.resize(obama, (obama.shape[1] // 6, obama.shape[0] // 6))
    canvas = np.full((480, 640, 3), 100, np.uint8)
    canvas[200 : 200 + small.shape[0], 300 : 300 + small.shape[1]] = small
    return {
        "no_face": encode(np.full((400, 400, 3), 120, np.uint8)),
        "several_faces": encode(side_by_side(obama, biden)),
        "too_small": encode(canvas),
        "too_blurred": encode(cv2.GaussianBlur(obama, (0, 0), 6)),
    }


@pytest.mark.parametrize("reason", ["no_face", "several_faces", "too_small", "too_blurred"])
async def test_enrolment_refusals_are_422_with_the_reason(env: WatchlistsEnv, heads, faces, reason) -> None:
    wl = await env.create()
    image = _refusal_images(heads)[reason]
    response = await env.add(wl, [faces["biden"], image], image_taken_on="2025-01-10,2025-01-11")
    error = response.json()["error"]
    assert response.status_code == 422 and error["code"] == "enrolment_refused", response.text
    assert error["details"] == {"image_index": 1, "reason": reason}
    assert "image 1" in error["message"]
    assert len(await env.events(wl)) == 1
    assert not list((env.data_dir / "blobs").rglob("*")) or not any(
        p.is_file() for p in (env.data_dir / "blobs").rglob("*"))  # a refused entry stores nothing


async def test_the_same_person_twice_is_refused_as_a_duplicate(env: WatchlistsEnv, faces) -> None:
    wl = await env.create()
    assert (await env.add(wl, [faces["obama"]], entry_id="e-1")).status_code == 201
    assert (await env.add(wl, [faces["biden"]], entry_id="e-2")).status_code == 201  # another person: fine
    again = await env.add(wl, [faces["obama2"]], entry_id="e-3")  # a different photo of e-1
    error = again.json()["error"]
    assert again.status_code == 422 and error["code"] == "duplicate_subject", again.text
    assert error["details"]["entry_id"] == "e-1" and error["details"]["similarity"] >= 0.8


async def test_old_child_image_is_accepted_with_a_warning(env: WatchlistsEnv, faces) -> None:
    wl = await env.create()
    response = await env.add(wl, [faces["obama"]], date_of_birth="2012-03-01", image_taken_on="2019-06-01")
    assert response.status_code == 201, response.text
    (warning,) = response.json()["warnings"]
    assert warning["code"] == "child_image_older_than_5_years" and warning["image_index"] == 0
    async with env.client("authorising_officer") as client:
        summary = (await client.get(f"{API}/{wl}/summary")).json()
    assert summary["contains_under_18"] and not summary["contains_under_13"]  # 14 when listed
    assert summary["entries"][0]["under_18"]


async def test_age_band_under_13_and_disability_show_in_the_summary(env: WatchlistsEnv, faces) -> None:
    wl = await env.create()
    response = await env.add(wl, [faces["biden"]], date_of_birth=None, age_band="under_13", disability="true",
                             category="missing_or_at_risk", image_source="family_supplied")
    assert response.status_code == 201, response.text
    async with env.client("silver_commander") as client:
        summary = (await client.get(f"{API}/{wl}/summary")).json()
    assert summary["contains_under_13"] and summary["contains_disability"]


async def test_details_may_come_as_one_json_field(env: WatchlistsEnv, faces) -> None:
    wl = await env.create()
    details = ('{"category": "suspect", "reason": "Named in crime report CR/1", "image_source": "custody", '
               '"image_taken_on": ["2024-02-02"], "age_band": "18_plus", "approved_by": "insp-x"}')
    files = [("images", ("a.jpg", faces["obama"], "image/jpeg"))]
    async with env.client("watchlist_manager") as client:
        response = await client.post(f"{API}/{wl}/entries", data={"details": details}, files=files)
    assert response.status_code == 201, response.text


async def test_removal_needs_a_reason_and_frozen_lists_refuse_changes(env: WatchlistsEnv, faces) -> None:
    from tests.integration.watchlists._env import authorised

    wl = await env.create()
    assert (await env.add(wl, [faces["obama"]], entry_id="e-1")).status_code == 201
    async with env.client("watchlist_manager") as client:
        assert (await client.delete(f"{API}/{wl}/entries/e-1")).status_code == 422  # reason missing
        assert (await client.delete(f"{API}/{wl}/entries/nope", params={"reason": "x"})).status_code == 404
    await env.deliver(authorised("dep-1", wl, 1))
    frozen = await env.add(wl, [faces["biden"]])
    assert (frozen.status_code, frozen.json()["error"]["code"]) == (422, "watchlist_frozen")
    async with env.client("watchlist_manager") as client:
        removal = await client.delete(f"{API}/{wl}/entries/e-1", params={"reason": "arrested"})
    assert (removal.status_code, removal.json()["error"]["code"]) == (422, "watchlist_frozen")


async def test_a_second_deployment_cannot_read_another_ones_key(env: WatchlistsEnv, faces) -> None:
    """No key for the deployment (never created by the deployments service): the upload fails cleanly."""
    async with env.client("watchlist_manager") as client:
        body = {"deployment_id": "dep-nokey", "name": "x", "watchlist_id": "wl-x"}
        created = await client.post(API, json=body)
    assert created.status_code == 201
    response = await env.add("wl-x", [faces["obama"]])
    assert response.status_code == 404 and response.json()["error"]["code"] == "key_not_found"
