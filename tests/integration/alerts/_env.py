"""The alerts service on real infrastructure: its SQLite event store and read model, its HTTP app served
by uvicorn on a free port (so Server-Sent Events really stream), and an in-test gRPC `DataKeys` server
over a real `KeyRing`, standing in for the deployments service that owns the keys."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import httpx
import uvicorn
from lfr_alerts.bootstrap import AlertsComponents, build_components
from lfr_alerts.entrypoints.consumers.face_matched import CONSUMER_NAME, face_matched_handler
from lfr_alerts.entrypoints.http.routes import alerts_router
from lfr_alerts.settings import AlertsSettings
from lfr_platform.auth import EmbeddedIssuer
from lfr_platform.blobs import BlobStore, blob_key, new_blob_id, open_blob_store
from lfr_platform.clock import ManualClock
from lfr_platform.crypto import DataClass, InMemoryWrappedKeyStore, KeyDestroyed, KeyNotFound, KeyRing, seal
from lfr_platform.data_keys import GrpcDataKeys
from lfr_platform.http import create_app
from lfr_platform.http.draining import start_draining
from lfr_platform.messaging.wire import EventMessage
from lfr_proto.lfr.keys.v1 import keys_pb2, keys_pb2_grpc

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class KeyRingServicer(keys_pb2_grpc.DataKeysServicer):
    """What the deployments service answers, over a real KeyRing."""

    def __init__(self, ring: KeyRing) -> None:
        self.ring = ring
        self.calls = 0

    async def GetDataKey(self, request: Any, context: Any) -> Any:  # noqa: N802 (gRPC naming)
        self.calls += 1
        try:
            key = await self.ring.data_key(request.deployment_id, request.data_class)
        except KeyDestroyed as error:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"destroyed: {error.message}")
        except KeyNotFound as error:
            await context.abort(grpc.StatusCode.NOT_FOUND, error.message)
        return keys_pb2.DataKey(key_id=f"{request.deployment_id}/{request.data_class}", key=key)


@dataclass
class AlertsEnv:
    base_url: str
    parts: AlertsComponents
    clock: ManualClock
    ring: KeyRing
    blobs: BlobStore
    issuer: EmbeddedIssuer
    data_dir: Path

    def token(self, role: str, user: str | None = None) -> str:
        return self.issuer.issue_token(user or f"{role}-1", role, 600)

    def headers(self, role: str, user: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, user)}"}

    def client(self, role: str | None = None, user: str | None = None) -> httpx.AsyncClient:
        headers = self.headers(role, user) if role else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=10.0)

    async def store_crop(self, deployment_id: str, image: bytes) -> str:
        await self.ring.ensure_key(deployment_id, DataClass.ALERT_MEDIA)
        key = blob_key(DataClass.ALERT_MEDIA, deployment_id, new_blob_id())
        sealed = seal(await self.ring.data_key(deployment_id, DataClass.ALERT_MEDIA), image, key.encode())
        await self.blobs.put(key, sealed)
        return key

    async def deliver(self, message: EventMessage) -> bool:
        """Exactly what the EventConsumer does with one message (tracking row + handler + commit)."""
        db = self.parts.ctx.db
        async with db.unit_of_work() as uow:
            fresh = await uow.mark_processed(CONSUMER_NAME, message.event_id)
            if fresh:
                await face_matched_handler(self.parts.ctx)(uow, message)
            await uow.commit()
        return fresh


def face_matched(
    *,
    deployment_id: str = "dep-1",
    track_id: str = "trk-1",
    entry_id: str = "ent-1",
    crop_blob_key: str | None = None,
    score: float = 0.74,
    captured_at: datetime = T0,
) -> EventMessage:
    """A FaceMatched exactly as inference publishes it (docs/architecture.md, event catalogue)."""
    now = datetime.now(UTC)
    return EventMessage(
        event_id=uuid.uuid4(),
        stream_id=track_id,
        stream_type="sighting",
        version=1,
        position=1,
        event_type="FaceMatched",
        schema_version=1,
        data={
            "deployment_id": deployment_id,
            "camera_id": "cam-1",
            "track_id": track_id,
            "captured_at": captured_at.isoformat(),
            "score": score,
            "threshold": 0.6,
            "watchlist_id": "wl-1",
            "entry_id": entry_id,
            "crop_blob_key": crop_blob_key or f"alert_media/{deployment_id}/{uuid.uuid4().hex}",
            "model_version": "arcface-r100@1",
            "quality": 0.9,
        },
        metadata={"actor": "inference", "role": "system", "correlation_id": "corr-1"},
        occurred_at=now,
        recorded_at=now,
        source="inference",
    )


@contextlib.asynccontextmanager
async def running_alerts(tmp_path: Path, **setting_overrides: Any) -> AsyncIterator[AlertsEnv]:
    ring = KeyRing(bytes(range(32)), InMemoryWrappedKeyStore())
    grpc_server = grpc.aio.server()
    keys_pb2_grpc.add_DataKeysServicer_to_server(KeyRingServicer(ring), grpc_server)
    grpc_port = grpc_server.add_insecure_port("127.0.0.1:0")
    await grpc_server.start()

    settings = AlertsSettings(
        data_dir=tmp_path, grpc_targets={"deployments": f"127.0.0.1:{grpc_port}"}, **setting_overrides
    )
    clock = ManualClock(T0)
    # Built before the app runs, by the service's composition root (the channel opens on first use).
    parts = build_components(settings, clock=clock)
    assert isinstance(parts.keys, GrpcDataKeys)
    await parts.kit.start_database()
    await parts.create_tables()
    app = create_app("alerts", [alerts_router(parts.http)], parts.kit.readiness_checks, settings)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())
    deadline = asyncio.get_running_loop().time() + 10
    while not server.started:  # uvicorn exposes no awaitable "started"
        assert asyncio.get_running_loop().time() < deadline, "alerts app did not start"
        await asyncio.sleep(0.01)
    issuer = EmbeddedIssuer.load_or_create(
        settings.dev_key_path, settings.auth.issuer, settings.auth.audience
    )
    try:
        yield AlertsEnv(f"http://127.0.0.1:{port}", parts, clock, ring,
                        open_blob_store(settings), issuer, tmp_path)  # fmt: skip
    finally:
        start_draining(app)
        server.should_exit = True
        await task
        await parts.keys.close()
        await grpc_server.stop(0)
        await parts.ctx.db.dispose()
