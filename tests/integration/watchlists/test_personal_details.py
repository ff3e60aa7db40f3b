"""An entry's personal details (reason, descriptions, date of birth) on real components: sealed into the
blob store under the deployment's watchlist_media key, absent from the stored event, the outbox message
the relay would publish and the SQLite file itself; readable through REST by the roles allowed to; and
answered as erased, not as a failure, once the key is shredded or the blobs are deleted."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from lfr_platform.blobs import FileBlobStore
from lfr_platform.crypto import DataClass
from lfr_platform.eventstore import EventMetadata, NewEvent
from lfr_platform.messaging.wire import EventMessage

from tests.integration.watchlists._env import API, NOW, WatchlistsEnv, running_watchlists

REASON = "Wanted on warrant WA/2026/0417 for aggravated burglary in Leyton"
CATEGORY_OTHER = "Subject of a closure order on Ruckholt Road"
SOURCE_OTHER = "Still from a doorbell camera supplied by the victim"
BORN = "1987-04-09"
PERSONAL = {
    "reason": REASON, "category": "other", "category_other": CATEGORY_OTHER, "image_source": "other",
    "image_source_other": SOURCE_OTHER, "date_of_birth": BORN,
}  # fmt: skip
SECRETS = (REASON, CATEGORY_OTHER, SOURCE_OTHER, BORN, "WA/2026/0417", "Ruckholt", "doorbell")


def _assert_no_personal_details(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} found in {where}"


async def _entry(env: WatchlistsEnv, role: str, wl: str = "wl-1", entry_id: str = "e-1") -> Any:
    async with env.client(role) as client:
        return await client.get(f"{API}/{wl}/entries/{entry_id}")


async def test_personal_details_are_sealed_out_of_events_outbox_and_database(
    env: WatchlistsEnv, faces
) -> None:
    wl = await env.create()
    added = await env.add(wl, [faces["obama"]], entry_id="e-1", **PERSONAL)
    assert added.status_code == 201, added.text

    (event,) = [e for e in await env.events(wl) if e.event_type == "WatchlistEntryAdded"]
    _assert_no_personal_details(json.dumps(dict(event.data)), "the stored event")
    assert event.schema_version == 2
    assert event.data["details"] == {"category": "other", "image_source": "other", "age_band": "18_plus",
                                     "approved_by": "di-approver", "disability": False}  # fmt: skip
    ref = event.data["sealed_details"]
    pending = await env.parts.kit.db.outbox.pending()
    assert [r.event.event_type for r in pending] == ["WatchlistCreated", "WatchlistEntryAdded"]
    # Exactly the bytes the relay would publish to Kafka (and the audit ledger would keep).
    published = [EventMessage.from_stored(r.event, "watchlists").to_bytes().decode() for r in pending]
    _assert_no_personal_details("\n".join(published), "the outbox messages")
    assert ref["sha256"] in published[1]  # the search sees the event's data
    # The database file and its WAL, raw: no copy anywhere in the store either.
    raw = "".join(f.read_bytes().decode("latin-1") for f in env.data_dir.glob("watchlists.db*"))
    _assert_no_personal_details(raw, "the SQLite files")
    assert ref["sha256"] in raw

    sealed = (env.data_dir / "blobs" / DataClass.WATCHLIST_MEDIA / "dep-1" / ref["blob_id"]).read_bytes()
    assert hashlib.sha256(sealed).hexdigest() == ref["sha256"]
    _assert_no_personal_details(sealed.decode("latin-1"), "the sealed blob")

    for role in ("watchlist_manager", "authorising_officer"):
        response = await _entry(env, role)
        assert response.status_code == 200, (role, response.text)
        assert response.headers["cache-control"] == "no-store"
        personal = response.json()["personal_details"]
        assert personal == {"state": "available", "sha256": ref["sha256"], "reason": REASON,
                            "category_other": CATEGORY_OTHER, "image_source_other": SOURCE_OTHER,
                            "date_of_birth": BORN, "note": None}  # fmt: skip
    for role in ("oversight", "silver_commander", "operator", "admin", "engagement_officer"):
        assert (await _entry(env, role)).status_code == 403, role

    async with env.client("oversight") as client:  # references and hashes only
        listed = (await client.get(f"{API}/{wl}")).json()
    assert listed["entries"][0]["personal_details"] == {
        "state": "sealed", "sha256": ref["sha256"], "reason": None, "category_other": None,
        "image_source_other": None, "date_of_birth": None, "note": None,
    }  # fmt: skip
    _assert_no_personal_details(json.dumps(listed), "the oversight listing")


async def test_after_the_key_is_shredded_the_entry_reads_erased(tmp_path: Path, enroller, faces) -> None:
    # A key is cached for at most key_cache_seconds (<= 60 s); a tiny value here instead of waiting.
    async with running_watchlists(tmp_path, enroller, key_cache_seconds=1e-6) as env:
        wl = await env.create()
        assert (await env.add(wl, [faces["obama"]], entry_id="e-1", **PERSONAL)).status_code == 201
        assert (await _entry(env, "watchlist_manager")).json()["personal_details"]["reason"] == REASON

        await env.ring.destroy("dep-1", DataClass.WATCHLIST_MEDIA)  # what retention does after the deployment
        response = await _entry(env, "watchlist_manager")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["personal_details"]["state"] == "erased"
        assert "cannot be recovered" in body["personal_details"]["note"]
        assert body["personal_details"]["reason"] is None and body["personal_details"]["sha256"]
        assert body["category"] == "other" and body["age_band"] == "18_plus"  # the facts stay for reports
        async with env.client("watchlist_manager") as client:
            assert (await client.get(f"{API}/{wl}")).status_code == 200


async def test_after_retention_deletes_the_blobs_the_entry_reads_erased(env: WatchlistsEnv, faces) -> None:
    wl = await env.create()
    assert (await env.add(wl, [faces["obama"]], entry_id="e-1", **PERSONAL)).status_code == 201
    blobs = FileBlobStore(env.data_dir / "blobs")
    for key in [k async for k in blobs.list("watchlist_media/dep-1/")]:  # retention's sweep of the prefix
        await blobs.delete(key)
    response = await _entry(env, "authorising_officer")
    assert response.status_code == 200, response.text
    assert response.json()["personal_details"]["state"] == "erased"


async def test_a_store_written_with_schema_1_still_loads(env: WatchlistsEnv) -> None:
    """Events written before the details were sealed stay as they are (history is never rewritten):
    they load, their facts are derived as schema 2 records them, and their details show as in clear."""
    await env.ring.ensure_key("dep-1", DataClass.WATCHLIST_MEDIA)
    who = EventMetadata(actor="dc-old", role="watchlist_manager")
    old_details = {"category": "suspect", "reason": REASON, "image_source": "custody", "category_other": None,
                   "image_source_other": None, "approved_by": "insp-9", "date_of_birth": "2014-03-01",
                   "age_band": None, "disability": True}  # fmt: skip
    image = {"image_blob_id": "i1", "template_blob_id": "t1", "taken_on": "2025-01-10"}
    events = [
        NewEvent(event_type="WatchlistCreated", data={"deployment_id": "dep-1", "name": "old"}, metadata=who,
                 occurred_at=NOW),
        NewEvent(event_type="WatchlistEntryAdded", schema_version=1, metadata=who, occurred_at=NOW,
                 data={"entry_id": "e-old", "details": old_details, "revision": 1, "warnings": [],
                       "model_version": "m1", "images": [image]}),
    ]  # fmt: skip
    async with env.parts.kit.db.unit_of_work() as uow:
        await uow.events.append("wl-old", "watchlist", 0, events)
        await uow.commit()

    async with env.client("oversight") as client:
        listed = (await client.get(f"{API}/wl-old")).json()
        summary = (await client.get(f"{API}/wl-old/summary")).json()
    (entry,) = listed["entries"]
    assert (entry["category"], entry["age_band"], entry["disability"]) == ("suspect", "under_13", True)
    assert entry["personal_details"]["state"] == "recorded_in_clear"
    assert summary["contains_under_13"] and summary["contains_disability"]
    response = await _entry(env, "watchlist_manager", wl="wl-old", entry_id="e-old")
    assert response.status_code == 200, response.text
    personal = response.json()["personal_details"]
    assert (personal["state"], personal["reason"], personal["date_of_birth"]) == (
        "recorded_in_clear",
        REASON,
        "2014-03-01",
    )
