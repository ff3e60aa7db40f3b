"""A real ingest service in-process: SQLite event store, the session tansu broker, a real gRPC DataKeys
server over a KeyRing, REST over ASGI, deployment events fed through the real deployments topic."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer, ConsumerRecord
from lfr_ingest.bootstrap import IngestParts, assemble
from lfr_ingest.settings import IngestSettings
from lfr_platform.auth import EmbeddedIssuer
from lfr_platform.crypto import DataClass, KeyRing
from lfr_platform.messaging import KafkaSettings, RawConsumer
from lfr_platform.runtime import ServiceRuntime

from tests.fixtures.events import DeploymentFeed
from tests.fixtures.grpc_peers import DataKeysServer, in_memory_ring, serve_data_keys
from tests.fixtures.waiting import wait_until


@dataclass
class Harness:
    settings: IngestSettings
    runtime: ServiceRuntime
    parts: IngestParts
    http: httpx.AsyncClient
    issuer: EmbeddedIssuer
    ring: KeyRing
    keys: DataKeysServer
    feed: DeploymentFeed
    frames: list[ConsumerRecord[bytes, bytes]]
    media: Path

    def auth(self, role: str, user: str = "user-1") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.issuer.issue_token(user, role)}"}

    async def register(self, camera_id: str, url: str, **extra: Any) -> httpx.Response:
        body = {"id": camera_id, "name": f"Camera {camera_id}", "source_url": url, **extra}
        return await self.http.post("/api/v1/cameras", json=body, headers=self.auth("admin"))

    async def health(self, camera_id: str) -> dict[str, Any]:
        response = await self.http.get(f"/api/v1/cameras/{camera_id}/health", headers=self.auth("operator"))
        assert response.status_code == 200, response.text
        return response.json()  # type: ignore[no-any-return]

    async def camera_events(self, camera_id: str) -> list[tuple[str, dict[str, Any]]]:
        stored = await self.parts.kit.db.reader().read_stream(camera_id)
        return [(e.event_type, dict(e.data)) for e in stored]

    async def event_types(self, camera_id: str) -> list[str]:
        return [t for t, _ in await self.camera_events(camera_id)]

    def frames_of(self, camera_id: str) -> list[ConsumerRecord[bytes, bytes]]:
        return [r for r in self.frames if r.key == camera_id.encode()]

    async def go_live(self, deployment_id: str, cameras: list[str]) -> None:
        """Drafted with these Form 1 cameras, submitted, authorised and started, as the deployments
        service would record it."""
        await self.ring.ensure_key(deployment_id, DataClass.FRAMES)  # the deployments service does this
        start = datetime.now(UTC) - timedelta(minutes=5)
        form = {
            "window": {"start": start.isoformat(), "end": (start + timedelta(hours=2)).isoformat()},
            "cameras": cameras,
        }
        await self.feed.send(deployment_id, "DeploymentDrafted", {"form": form})
        await self.feed.send(deployment_id, "DeploymentSubmitted")
        await self.feed.send(
            deployment_id, "DeploymentAuthorised", {"watchlist_id": "wl-1"}, "ao-1", "authorising_officer"
        )
        await self.feed.send(deployment_id, "DeploymentStarted")

    async def frames_key(self, deployment_id: str) -> bytes:
        return await self.ring.data_key(deployment_id, DataClass.FRAMES)


async def start_harness(
    tmp_path: Path, kafka: KafkaSettings, prefix: str, **overrides: Any
) -> tuple[Harness, Callable[[], Awaitable[None]]]:
    media = tmp_path / "media"
    media.mkdir()
    master = os.urandom(32)
    keys = await serve_data_keys(in_memory_ring(master))

    settings = IngestSettings(
        data_dir=tmp_path / "data",
        master_key=base64.b64encode(master).decode(),
        kafka=kafka,
        topic_prefix=prefix,
        media_root=media,
        grpc_targets={"deployments": keys.target},
        reconnect_min_seconds=0.2,
        reconnect_max_seconds=1.0,
        open_timeout_seconds=5.0,
        read_timeout_seconds=3.0,
        **overrides,
    )
    runtime, parts = assemble(settings)
    for hook in runtime.on_start:
        await hook()
    tasks = [asyncio.create_task(job()) for job in runtime.background]
    await wait_until(parts.frames_ready.is_set, "the frames topic")
    await wait_until(parts.kit.broker_connected.is_set, "the broker")

    frames: list[ConsumerRecord[bytes, bytes]] = []

    async def collect(record: ConsumerRecord[bytes, bytes]) -> None:
        frames.append(record)

    consumer = RawConsumer(
        f"{prefix}frames", collect, kafka, partitions=parts.rotation.topic_partitions(), start_at_end=False
    )
    await consumer.start()
    producer = AIOKafkaProducer(**kafka.producer_kwargs())
    await producer.start()
    transport = httpx.ASGITransport(app=runtime.app, raise_app_exceptions=False)
    http = httpx.AsyncClient(transport=transport, base_url="http://ingest")
    issuer = EmbeddedIssuer.load_or_create(
        settings.dev_key_path, settings.auth.issuer, settings.auth.audience
    )
    harness = Harness(
        settings,
        runtime,
        parts,
        http,
        issuer,
        keys.ring,
        keys,
        DeploymentFeed(producer, settings.deployments_topic),
        frames,
        media,
    )

    async def close() -> None:
        # Each step bounded: a consumer stopped mid group-join on tansu can otherwise wait for ever.
        async def bounded(step: Awaitable[Any]) -> None:
            with contextlib.suppress(Exception, asyncio.TimeoutError):
                await asyncio.wait_for(step, 15)

        await http.aclose()
        for task in tasks:
            task.cancel()
        await bounded(asyncio.gather(*tasks, return_exceptions=True))
        for hook in runtime.on_stop:
            await bounded(hook())
        await bounded(consumer.stop())
        await bounded(producer.stop())
        await bounded(keys.stop())

    return harness, close
