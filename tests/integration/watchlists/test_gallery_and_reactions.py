"""Deployment events freeze and reopen the watchlist (exactly once, failed freezes recorded not retried);
the Gallery gRPC hands inference exactly the frozen entries' templates; the duplicate index is rebuilt
from the vault at start-up; a crypto-shredded key makes the images unreadable."""

from __future__ import annotations

from pathlib import Path

import grpc
import numpy as np
import pytest
from lfr_inference.vision.embedder import MODEL_VERSION
from lfr_platform.crypto import DataClass

from tests.integration.watchlists._env import (
    API,
    WatchlistsEnv,
    authorised,
    deployment_event,
    running_watchlists,
)


async def _two_entries(env: WatchlistsEnv, faces: dict[str, bytes]) -> str:
    wl = await env.create()
    assert (await env.add(wl, [faces["obama"], faces["obama2"]], entry_id="e-obama",
                          image_taken_on="2025-01-01,2025-02-01")).status_code == 201
    assert (await env.add(wl, [faces["biden"]], entry_id="e-biden", category="suspect")).status_code == 201
    return wl


async def test_gallery_is_refused_until_frozen(env: WatchlistsEnv, faces) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await env.gallery("dep-unknown")
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    await _two_entries(env, faces)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await env.gallery("dep-1")
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "watchlist_not_frozen" in (refused.value.details() or "")


async def test_authorisation_freezes_and_gallery_returns_exactly_the_frozen_entries(
    env: WatchlistsEnv, faces, enroller
) -> None:
    wl = await _two_entries(env, faces)
    assert await env.deliver(authorised("dep-1", wl, 2))
    frozen = (await env.events(wl))[-1]
    assert frozen.event_type == "WatchlistFrozen" and frozen.data["revision"] == 2
    assert (frozen.metadata.actor, frozen.metadata.role) == ("supt-ao", "authorising_officer")

    gallery = await env.gallery("dep-1")
    assert (gallery.watchlist_id, gallery.version, gallery.frozen) == (wl, 2, True)
    assert gallery.model_version == MODEL_VERSION
    assert sorted((e.entry_id, e.category) for e in gallery.entries) == [
        ("e-biden", "suspect"), ("e-obama", "wanted_on_warrant"), ("e-obama", "wanted_on_warrant")]
    # The templates are the real embeddings of what was uploaded (decrypted from the vault).
    fresh = await enroller.enrol(faces["biden"])
    biden = next(np.asarray(e.template) for e in gallery.entries if e.entry_id == "e-biden")
    assert float(biden @ np.asarray(fresh.embedding)) > 0.99

    # Redelivery changes nothing (tracked); a lapse reopens, and changes may resume.
    message = authorised("dep-1", wl, 2)
    assert await env.deliver(message) and not await env.deliver(message)
    assert [e.event_type for e in await env.events(wl)].count("WatchlistFrozen") == 1
    await env.deliver(deployment_event("AuthorisationLapsed", "dep-1", {"watchlist_id": wl,
                                                                         "cause": "Form1Amended"}))
    assert (await env.events(wl))[-1].event_type == "WatchlistReopened"
    with pytest.raises(grpc.aio.AioRpcError):
        await env.gallery("dep-1")
    async with env.client("watchlist_manager") as client:
        removed = await client.delete(f"{API}/{wl}/entries/e-biden", params={"reason": "arrested"})
    assert removed.status_code == 200
    await env.deliver(authorised("dep-1", wl, 3))
    assert sorted({e.entry_id for e in (await env.gallery("dep-1")).entries}) == ["e-obama"]


async def test_a_freeze_at_a_stale_revision_is_recorded_once_not_retried(env: WatchlistsEnv, faces) -> None:
    wl = await _two_entries(env, faces)
    assert await env.deliver(authorised("dep-1", wl, 1))  # the officer saw revision 1; it is now 2
    refused = (await env.events(wl))[-1]
    assert refused.event_type == "WatchlistFreezeRefused"
    assert (refused.data["authorised_revision"], refused.data["current_revision"]) == (1, 2)
    assert refused.data["code"] == "watchlist_version_mismatch"
    assert refused.metadata.role == "authorising_officer"
    async with env.client("oversight") as client:
        assert (await client.get(f"{API}/{wl}")).json()["frozen"] is False


async def test_an_unknown_watchlist_in_an_authorisation_is_logged_not_fatal(env: WatchlistsEnv) -> None:
    assert await env.deliver(authorised("dep-9", "wl-does-not-exist", 1))


async def test_duplicate_index_is_rebuilt_from_the_vault_at_start(tmp_path: Path, enroller, faces) -> None:
    async with running_watchlists(tmp_path, enroller) as first:
        wl = await first.create()
        assert (await first.add(wl, [faces["obama"]], entry_id="e-1")).status_code == 201
    # A new process over the same database and vault; the deployments service (the key ring) outlived it.
    async with running_watchlists(tmp_path, enroller, ring=first.ring) as second:
        assert await second.parts.rebuild_index() == 1
        again = await second.add(wl, [faces["obama2"]], entry_id="e-2")
    assert again.status_code == 422 and again.json()["error"]["code"] == "duplicate_subject"


async def test_a_destroyed_key_makes_images_unreadable(tmp_path: Path, enroller, faces) -> None:
    # A key is cached for at most key_cache_seconds (<= 60 s); a tiny value here instead of waiting.
    async with running_watchlists(tmp_path, enroller, key_cache_seconds=0.001) as env:
        wl = await env.create()
        assert (await env.add(wl, [faces["obama"]], entry_id="e-1")).status_code == 201
        await env.ring.destroy("dep-1", DataClass.WATCHLIST_MEDIA)
        async with env.client("watchlist_manager") as client:
            gone = await client.get(f"{API}/{wl}/entries/e-1/images/0")
        assert gone.status_code == 410 and gone.json()["error"]["code"] == "key_destroyed"
        assert await env.parts.rebuild_index() == 0  # shredded: skipped, not retried forever


async def test_the_built_service_keeps_its_index_task_alive(tmp_path: Path) -> None:
    """The service runtime stops when any background task ends: the index task must not end."""
    import asyncio

    import httpx
    from lfr_watchlists.bootstrap import build
    from lfr_watchlists.settings import WatchlistsSettings

    runtime = build(WatchlistsSettings(data_dir=tmp_path))
    for hook in runtime.on_start:
        await hook()
    tasks = [asyncio.create_task(job()) for job in runtime.background[1:]]  # [0] connects to Kafka
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=runtime.app),
                                     base_url="http://w") as client:
            deadline = asyncio.get_running_loop().time() + 30
            while True:
                checks = (await client.get("/readyz")).json()["error"]["details"]["checks"]
                if checks["template_index"] == "ok":
                    break
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.02)
        await asyncio.sleep(0)
        assert not any(task.done() for task in tasks)
    finally:
        for task in tasks:
            task.cancel()
        for hook in runtime.on_stop:
            await hook()
