"""The alerts service on real infrastructure: its SQLite event store and read model, its HTTP app served
by uvicorn on a free port (so Server-Sent Events really stream), and an in-test gRPC `DataKeys` server
over a real `KeyRing`, standing in for the deployments service that owns the keys."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from lfr_alerts.bootstrap import AlertsComponents, build_components
from lfr_alerts.entrypoints.consumers.face_matched import CONSUMER_NAME, face_matched_handler
from lfr_alerts.entrypoints.http.routes import alerts_router
from lfr_alerts.settings import AlertsSettings
from lfr_platform.auth import EmbeddedIssuer
from lfr_platform.blobs import BlobStore, blob_key, new_blob_id, open_blob_store
from lfr_platform.clock import ManualClock
from lfr_platform.crypto import DataClass, KeyRing, seal
from lfr_platform.data_keys import GrpcDataKeys
from lfr_platform.http import create_app
from lfr_platform.http.draining import start_draining
from lfr_platform.messaging.wire import EventMessage

from tests.fixtures import events
from tests.fixtures.grpc_peers import in_memory_ring, serve_data_keys
from tests.fixtures.services import free_ports

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


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
        handler = face_matched_handler(self.parts.ctx)
        return await events.deliver(self.parts.ctx.db, CONSUMER_NAME, handler, message)


# FaceMatched as inference publishes it, captured at the alerts clock's start unless a test says otherwise.
face_matched = functools.partial(events.face_matched, captured_at=T0)


@contextlib.asynccontextmanager
async def running_alerts(tmp_path: Path, **setting_overrides: Any) -> AsyncIterator[AlertsEnv]:
    ring = in_memory_ring()
    peers = await serve_data_keys(ring)
    settings = AlertsSettings(
        data_dir=tmp_path, grpc_targets={"deployments": peers.target}, **setting_overrides
    )
    clock = ManualClock(T0)
    # Built before the app runs, by the service's composition root (the channel opens on first use).
    parts = build_components(settings, clock=clock)
    assert isinstance(parts.keys, GrpcDataKeys)
    await parts.kit.start_database()
    await parts.create_tables()
    app = create_app("alerts", [alerts_router(parts.http)], parts.kit.readiness_checks, settings)
    [port] = free_ports(1)
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
        await peers.stop()
        await parts.ctx.db.dispose()
