"""The watchlists REST API through the real app, with real JWTs, real enrolment (the inference service's
FacePipeline over gRPC) and the sealed vault: entries are added, read without images, summarised, and
their images served decrypted to the roles allowed to see them."""

from __future__ import annotations

import json

from lfr_platform.crypto import DataClass

from tests.integration.watchlists._env import API, WatchlistsEnv


async def test_an_entry_is_enrolled_sealed_and_read_back_without_images(env: WatchlistsEnv, faces) -> None:
    wl = await env.create()
    added = await env.add(wl, [faces["obama"]], entry_id="e-obama")
    assert added.status_code == 201, added.text
    assert added.json() == {"watchlist_id": wl, "entry_id": "e-obama", "revision": 1, "warnings": []}

    async with env.client("oversight") as client:
        body = (await client.get(f"{API}/{wl}")).json()
    (entry,) = body["entries"]
    assert entry["entry_id"] == "e-obama" and entry["category"] == "wanted_on_warrant"
    assert entry["age_band"] == "18_plus" and entry["approved_by"] == "di-approver"
    assert entry["personal_details"]["state"] == "sealed" and len(entry["personal_details"]["sha256"]) == 64
    assert "Warrant 2026/331" not in json.dumps(body) and "1990-05-01" not in json.dumps(body)
    assert entry["images"] == [{"index": 0, "taken_on": "2025-01-10"}]
    assert entry["model_version"]
    assert "blob" not in json.dumps(body)  # no image, no template, not even where they are

    (blob,) = [p for p in (env.data_dir / "blobs" / DataClass.WATCHLIST_MEDIA / "dep-1").iterdir()
               if p.stat().st_size > 5000]
    assert b"\xff\xd8\xff" not in blob.read_bytes()[:64]  # at rest: ciphertext, not a JPEG

    async with env.client("authorising_officer") as client:
        image = await client.get(f"{API}/{wl}/entries/e-obama/images/0")
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.content.startswith(b"\xff\xd8\xff") and image.headers["cache-control"] == "no-store"
    for role in ("oversight", "admin", "operator", "silver_commander"):
        async with env.client(role) as client:
            assert (await client.get(f"{API}/{wl}/entries/e-obama/images/0")).status_code == 403, role

    async with env.client("watchlist_manager") as client:
        summary = (await client.get(f"{API}/{wl}/summary")).json()
        listed = (await client.get(API, params={"deployment_id": "dep-1"})).json()
    assert summary["size"] == 1 and summary["version"] == 1 and not summary["contains_under_18"]
    assert [w["watchlist_id"] for w in listed] == [wl]
