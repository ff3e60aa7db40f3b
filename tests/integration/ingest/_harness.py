"""A real ingest service in-process: SQLite event store, the session tansu broker, a real gRPC DataKeys
server over a KeyRing, REST over ASGI, deployment events fed through the real deployments topic."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import httpx
from aiokafka import AIOKafkaProducer, ConsumerRecord
from lfr_ingest.bootstrap import IngestParts, assemble
from lfr_ingest.settings import IngestSettings
from lfr_platform.auth import EmbeddedIssuer
from lfr_platform.crypto import DataClass, InMemoryWrappedKeyStore, KeyDestroyed, KeyNotFound, KeyRing
from lfr_platform.messaging import KafkaSettings, RawConsumer
from lfr_platform.messaging.wire import EventMessage
from lfr_platform.runtime import ServiceRuntime
from lfr_proto.lfr.keys.v1 import keys_pb2, keys_pb2_grpc


async def wait_for(predicate: Callable[[], Any], what: str, within: float = 60.0) -> Any:
    """Poll until `predicate()` (sync or async) is truthy; fail naming `what` after `within` s."""
    deadline = time.monotonic() + within
    while True:
        value = predicate()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:g} s waiting for {what}")
        await asyncio.sleep(0.05)


class KeyRingServicer(keys_pb2_grpc.DataKeysServicer):
    """The DataKeys contract over lfr_platform.crypto.KeyRing, as the deployments service serves it."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self.calls = 0

    async def GetDataKey(self, request: Any, context: Any) -> Any:  # noqa: N802 - gRPC naming
        self.calls += 1
        try:
            key = await self.ring.data_key(request.deployment_id, request.data_class)
        except KeyNotFound:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no such key")
        except KeyDestroyed:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "key destroyed")
        return keys_pb2.DataKey(key_id=f"{request.deployment_id}/{request.data_class}", key=key)


@dataclass
class DeploymentFeed:
    """Publishes deployment lifecycle events to the (prefixed) deployments topic, as that service would."""

    producer: AIOKafkaProducer
    topic: str
    versions: dict[str, int] = field(default_factory=dict)
    published_at: dict[tuple[str, str], float] = field(default_factory=dict)

    async def send(
        self,
        deployment_id: str,
        event_type: str,
        data: dict[str, Any] | None = None,
        actor: str = "silver-1",
        role: str = "silver_commander",
    ) -> float:
        version = self.versions.get(deployment_id, 0) + 1
        self.versions[deployment_id] = version
        now = datetime.now(UTC)
        message = EventMessage(
            event_id=uuid.uuid4(),
            stream_id=deployment_id,
            stream_type="deployment",
            version=version,
            position=version,
            event_type=event_type,
            schema_version=1,
            data=data or {},
            metadata={"actor": actor, "role": role},
            occurred_at=now,
            recorded_at=now,
            source="deployments",
        )
        await self.producer.send_and_wait(
            self.topic, message.to_bytes(), key=deployment_id.encode(), headers=message.headers()
        )
        sent = time.time()
        self.published_at[(deployment_id, event_type)] = sent
        return sent

    async def go_live(self, deployment_id: str, cameras: list[str], hours: float = 2.0) -> None:
        start = datetime.now(UTC) - timedelta(minutes=5)
        form = {
            "window": {"start": start.isoformat(), "end": (start + timedelta(hours=hours)).isoformat()},
            "cameras": cameras,
        }
        await self.send(deployment_id, "DeploymentDrafted", {"form": form})
        await self.send(deployment_id, "DeploymentSubmitted")
        await self.send(
            deployment_id, "DeploymentAuthorised", {"watchlist_id": "wl-1"}, "ao-1", "authorising_officer"
        )
        await self.send(deployment_id, "DeploymentStarted")


@dataclass
class Harness:
    settings: IngestSettings
    runtime: ServiceRuntime
    parts: IngestParts
    http: httpx.AsyncClient
    issuer: EmbeddedIssuer
    ring: KeyRing
    keys_servicer: KeyRingServicer
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
        await self.ring.ensure_key(deployment_id, DataClass.FRAMES)  # the deployments service does this
        await self.feed.go_live(deployment_id, cameras)

    async def frames_key(self, deployment_id: str) -> bytes:
        return await self.ring.data_key(deployment_id, DataClass.FRAMES)


async def start_harness(
    tmp_path: Path, kafka: KafkaSettings, prefix: str, **overrides: Any
) -> tuple[Harness, Callable[[], Awaitable[None]]]:
    media = tmp_path / "media"
    media.mkdir()
    master = os.urandom(32)
    ring = KeyRing(master, InMemoryWrappedKeyStore())
    servicer = KeyRingServicer(ring)
    server = grpc.aio.server()
    keys_pb2_grpc.add_DataKeysServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()

    settings = IngestSettings(
        data_dir=tmp_path / "data",
        master_key=base64.b64encode(master).decode(),
        kafka=kafka,
        topic_prefix=prefix,
        media_root=media,
        grpc_targets={"deployments": f"127.0.0.1:{port}"},
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
    await wait_for(parts.frames_ready.is_set, "the frames topic")
    await wait_for(parts.kit.broker_connected.is_set, "the broker")

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
        ring,
        servicer,
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
        await bounded(server.stop(grace=None))

    return harness, close
