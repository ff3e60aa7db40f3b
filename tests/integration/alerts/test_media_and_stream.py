"""Media (the decrypted live crop via gRPC DataKeys; the watchlist image's 503 while the watchlists side
has no internal image endpoint) and the live Server-Sent Events stream."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path
from typing import Any

import httpx
from lfr_alerts.app.handlers import alert_id_for
from lfr_platform.blobs import blob_key, new_blob_id
from lfr_platform.crypto import DataClass, seal
from lfr_platform.messaging.wire import EventMessage

from tests.fixtures.events import deliver, event_message
from tests.integration.alerts._env import AlertsEnv, face_matched, running_alerts


async def test_crop_is_decrypted_for_operators_only(alerts_env: AlertsEnv, face_images_dir: Path) -> None:
    face = (face_images_dir / "obama.jpg").read_bytes()
    crop_key = await alerts_env.store_crop("dep-1", face)
    assert face not in (alerts_env.data_dir / "blobs" / crop_key).read_bytes()  # at rest: ciphertext
    message = face_matched(crop_blob_key=crop_key)
    await alerts_env.deliver(message)
    url = f"/api/v1/alerts/{alert_id_for(message.event_id)}/crop"
    for role in ("operator", "engagement_officer"):
        async with alerts_env.client(role) as client:
            response = await client.get(url)
            assert response.status_code == 200 and response.content == face
            assert response.headers["content-type"] == "image/jpeg"
            assert response.headers["cache-control"] == "no-store"
    for role in ("oversight", "admin", "silver_commander", "authorising_officer"):
        async with alerts_env.client(role) as client:
            assert (await client.get(url)).status_code == 403, role

    await alerts_env.ring.destroy("dep-1", DataClass.ALERT_MEDIA)  # retention crypto-shreds the key
    async with alerts_env.client("operator") as client:
        gone = await client.get(url)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "key_destroyed"


async def test_crop_of_another_deployment_is_refused(alerts_env: AlertsEnv, face_images_dir: Path) -> None:
    foreign = await alerts_env.store_crop("dep-2", (face_images_dir / "biden.jpg").read_bytes())
    message = face_matched(deployment_id="dep-1", crop_blob_key=foreign)
    await alerts_env.deliver(message)
    async with alerts_env.client("operator") as client:
        response = await client.get(f"/api/v1/alerts/{alert_id_for(message.event_id)}/crop")
    assert response.status_code == 400


def watchlist_event(event_type: str, watchlist_id: str, **data: object) -> EventMessage:
    """A watchlists-service event as it arrives on lfr.watchlists.events.v1 (blob ids, never images)."""
    return event_message("watchlist", watchlist_id, event_type, data, actor="wlm-1", role="watchlist_manager")


async def seal_watchlist_image(env: AlertsEnv, deployment_id: str, image: bytes) -> str:
    """What the watchlists service's vault does: seal under watchlist_media, blob key as AAD."""
    await env.ring.ensure_key(deployment_id, DataClass.WATCHLIST_MEDIA)
    blob_id = new_blob_id()
    key = blob_key(DataClass.WATCHLIST_MEDIA, deployment_id, blob_id)
    data_key = await env.ring.data_key(deployment_id, DataClass.WATCHLIST_MEDIA)
    await env.blobs.put(key, seal(data_key, image, key.encode()))
    return blob_id


async def deliver_watchlist(env: AlertsEnv, message: EventMessage) -> None:
    handler = env.parts.watchlist_media.on_event
    assert await deliver(env.parts.ctx.db, "alerts-watchlist-media", handler, message)


async def test_watchlist_image_beside_the_crop(alerts_env: AlertsEnv, face_images_dir: Path) -> None:
    reference = (face_images_dir / "obama.jpg").read_bytes()
    message = face_matched()  # dep-1, watchlist wl-1, entry ent-1
    await alerts_env.deliver(message)
    url = f"/api/v1/alerts/{alert_id_for(message.event_id)}/watchlist-image"
    async with alerts_env.client("operator") as client:
        early = await client.get(url)  # the watchlists events have not arrived yet: say so
        assert early.status_code == 503
        assert early.json()["error"]["code"] == "watchlist_media_unavailable"

    blob_id = await seal_watchlist_image(alerts_env, "dep-1", reference)
    await deliver_watchlist(
        alerts_env, watchlist_event("WatchlistCreated", "wl-1", deployment_id="dep-1", name="Station")
    )
    await deliver_watchlist(
        alerts_env,
        watchlist_event(
            "WatchlistEntryAdded",
            "wl-1",
            entry_id="ent-1",
            revision=1,
            warnings=[],
            details={"category": "wanted_on_warrant"},
            images=[{"image_blob_id": blob_id, "template_blob_id": "t1", "taken_on": "2024-01-01"}],
        ),
    )
    async with alerts_env.client("engagement_officer") as client:
        shown = await client.get(url)
    assert shown.status_code == 200 and shown.content == reference
    assert shown.headers["content-type"] == "image/jpeg"
    async with alerts_env.client("oversight") as client:
        assert (await client.get(url)).status_code == 403

    await deliver_watchlist(
        alerts_env,
        watchlist_event(
            "WatchlistEntryRemoved",
            "wl-1",
            entry_id="ent-1",
            reason="arrested",
            blob_ids=[blob_id],
            revision=2,
        ),
    )
    async with alerts_env.client("operator") as client:
        removed = await client.get(url)
    assert removed.status_code == 404 and removed.json()["error"]["code"] == "entry_removed"


async def test_watchlist_image_of_another_deployment_is_not_shown(
    alerts_env: AlertsEnv, face_images_dir: Path
) -> None:
    blob_id = await seal_watchlist_image(alerts_env, "dep-2", (face_images_dir / "biden.jpg").read_bytes())
    await deliver_watchlist(
        alerts_env, watchlist_event("WatchlistCreated", "wl-1", deployment_id="dep-2", name="Elsewhere")
    )
    await deliver_watchlist(
        alerts_env,
        watchlist_event(
            "WatchlistEntryAdded",
            "wl-1",
            entry_id="ent-1",
            revision=1,
            warnings=[],
            details={},
            images=[{"image_blob_id": blob_id, "template_blob_id": "t1", "taken_on": "2024-01-01"}],
        ),
    )
    message = face_matched(deployment_id="dep-1")  # claims wl-1/ent-1, which belongs to dep-2
    await alerts_env.deliver(message)
    async with alerts_env.client("operator") as client:
        response = await client.get(f"/api/v1/alerts/{alert_id_for(message.event_id)}/watchlist-image")
    assert response.status_code == 404


async def _next_alert_event(lines: Any) -> dict[str, Any]:
    event: dict[str, str] = {}
    async for line in lines:
        if not line:
            if event.get("event") == "alert":
                return {"id": event["id"], **json.loads(event["data"])}
            event = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        event[name] = value.lstrip()
    raise AssertionError("stream ended")


async def test_stream_pushes_the_alert_as_soon_as_the_match_is_consumed(alerts_env: AlertsEnv) -> None:
    token = alerts_env.token("operator")
    async with (
        httpx.AsyncClient(base_url=alerts_env.base_url, timeout=10.0) as client,
        client.stream("GET", "/api/v1/alerts/stream", params={"access_token": token}) as stream,
    ):
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert stream.headers["referrer-policy"] == "no-referrer"
        lines = stream.aiter_lines()
        message = face_matched()
        await alerts_env.deliver(message)
        received = await asyncio.wait_for(_next_alert_event(lines), 10)
        assert received["event_type"] == "AlertRaised"
        assert received["alert"]["alert_id"] == alert_id_for(message.event_id)
        assert received["alert"]["status"] == "pending"
        async with alerts_env.client("operator") as operator:
            await operator.post(f"/api/v1/alerts/{alert_id_for(message.event_id)}/review")
        update = await asyncio.wait_for(_next_alert_event(lines), 10)
        assert update["event_type"] == "AlertReviewStarted" and update["alert"]["status"] == "in_review"
    first_position = int(received["id"])

    # A reconnecting EventSource sends Last-Event-ID and gets what it missed, in order.
    async with (
        httpx.AsyncClient(base_url=alerts_env.base_url, timeout=10.0) as client,
        client.stream(
            "GET",
            "/api/v1/alerts/stream",
            params={"access_token": token},
            headers={"Last-Event-ID": str(first_position)},
        ) as resumed,
    ):
        replay = await asyncio.wait_for(_next_alert_event(resumed.aiter_lines()), 10)
    assert replay["event_type"] == "AlertReviewStarted"


async def test_stream_refuses_missing_tokens_and_roles_without_alerts_read(alerts_env: AlertsEnv) -> None:
    async with httpx.AsyncClient(base_url=alerts_env.base_url, timeout=10.0) as client:
        assert (await client.get("/api/v1/alerts/stream")).status_code == 401
        admin = alerts_env.token("admin")
        assert (await client.get("/api/v1/alerts/stream", params={"access_token": admin})).status_code == 403
        bogus = await client.get("/api/v1/alerts/stream", params={"access_token": "x.y.z"})
        assert bogus.status_code == 401


async def test_an_open_stream_ends_when_the_service_stops(tmp_path: Path) -> None:
    """uvicorn's graceful stop waits for every response in progress: a console that keeps its stream
    open must not keep the service from stopping (and its EventSource reconnects elsewhere)."""
    opened = asyncio.Event()

    async def console(env: AlertsEnv) -> list[str]:
        token = env.token("operator")
        lines = []
        async with (
            httpx.AsyncClient(base_url=env.base_url, timeout=httpx.Timeout(10.0, read=None)) as client,
            client.stream("GET", "/api/v1/alerts/stream", params={"access_token": token}) as stream,
        ):
            async for line in stream.aiter_lines():  # like a browser: never closed from this side
                lines.append(line)
                opened.set()
        return lines

    service = contextlib.AsyncExitStack()
    env = await service.enter_async_context(running_alerts(tmp_path))
    reader = asyncio.create_task(console(env))
    await asyncio.wait_for(opened.wait(), 10)
    stopping = asyncio.create_task(service.aclose())
    done, _ = await asyncio.wait([stopping], timeout=30)  # only bounds a failure
    assert stopping in done, "the service did not stop while a console was connected"
    lines = await reader  # the server ended the stream
    assert any(line.startswith(": connected") for line in lines)
