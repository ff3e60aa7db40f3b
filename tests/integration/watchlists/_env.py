"""The watchlists service on real components: its SQL event store (SQLite file, or PostgreSQL), its
FastAPI app (httpx over ASGI), real JWTs from the embedded issuer, the blob store on disk, an in-test
`DataKeys` gRPC server over a real `KeyRing` (standing in for the deployments service that owns the keys)
and an in-test `FaceEnrolment` gRPC server running the inference service's real FacePipeline on
onnxruntime (the real Enrol servicer, not a fake)."""

from __future__ import annotations

import contextlib
import io
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import grpc
import httpx
import numpy as np
from lfr_inference.app.enrolment import ENROL_DETECTOR, ENROL_QUALITY, Enroller
from lfr_inference.entrypoints.grpc.enrolment import enrolment_registrar
from lfr_inference.vision.backends import OnnxRuntimeBackend
from lfr_inference.vision.embedder import MODEL_VERSION
from lfr_inference.vision.pipeline import FacePipeline
from lfr_platform.auth import EmbeddedIssuer
from lfr_platform.clock import ManualClock
from lfr_platform.crypto import DataClass, KeyRing
from lfr_platform.eventstore import StoredEvent
from lfr_platform.http import create_app
from lfr_platform.messaging.wire import EventMessage
from lfr_proto.lfr.watchlists.v1 import gallery_pb2, gallery_pb2_grpc
from lfr_watchlists.bootstrap import WatchlistsComponents, build_components
from lfr_watchlists.entrypoints.consumers.deployment_events import CONSUMER_NAME, deployment_events_handler
from lfr_watchlists.entrypoints.grpc.gallery import gallery_registrar
from lfr_watchlists.entrypoints.http.routes import watchlists_router
from lfr_watchlists.settings import WatchlistsSettings
from PIL import Image

from tests.fixtures.events import deliver, event_message
from tests.fixtures.grpc_peers import KeyRingDataKeys, in_memory_ring, serve_data_keys, serve_grpc

NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
API = "/api/v1/watchlists"


def enrolment_pipeline() -> Enroller:
    return Enroller(FacePipeline(OnnxRuntimeBackend(), ENROL_DETECTOR, ENROL_QUALITY), MODEL_VERSION)


def encode(rgb: np.ndarray, fmt: str = "JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format=fmt)
    return buffer.getvalue()


def side_by_side(*faces: np.ndarray) -> np.ndarray:
    height = max(f.shape[0] for f in faces)
    canvas = np.full((height, sum(f.shape[1] for f in faces) + 40, 3), 100, np.uint8)
    x = 0
    for face in faces:
        canvas[: face.shape[0], x : x + face.shape[1]] = face
        x += face.shape[1] + 40
    return canvas


def entry_form(**changes: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "category": "wanted_on_warrant", "reason": "Warrant 2026/331 for robbery", "image_source": "custody",
        "image_taken_on": "2025-01-10", "date_of_birth": "1990-05-01", "approved_by": "di-approver",
    }
    form.update(changes)
    return {k: v for k, v in form.items() if v is not None}


@dataclass
class WatchlistsEnv:
    parts: WatchlistsComponents
    app: Any
    ring: KeyRing
    keys: KeyRingDataKeys
    issuer: EmbeddedIssuer
    clock: ManualClock
    data_dir: Path
    grpc_target: str

    def token(self, role: str, user: str | None = None) -> str:
        return self.issuer.issue_token(user or f"{role}-1", role, 600)

    def client(self, role: str | None = None, user: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.token(role, user)}"} if role else {}
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://watchlists",
                                 headers=headers, timeout=60.0)

    async def events(self, stream_id: str | None = None) -> list[StoredEvent]:
        reader = self.parts.kit.db.reader()
        if stream_id is not None:
            return list(await reader.read_stream(stream_id))
        return list(await reader.read_all(after_position=0, limit=100_000))

    async def create(self, deployment_id: str = "dep-1", watchlist_id: str = "wl-1") -> str:
        await self.ring.ensure_key(deployment_id, DataClass.WATCHLIST_MEDIA)  # the deployments service's job
        async with self.client("watchlist_manager") as client:
            response = await client.post(API, json={"deployment_id": deployment_id, "name": "Stratford",
                                                    "watchlist_id": watchlist_id})
        assert response.status_code == 201, response.text
        return watchlist_id

    async def add(self, watchlist_id: str, images: Sequence[bytes], role: str = "watchlist_manager",
                  **form: Any) -> httpx.Response:
        fields = entry_form(**form)
        if "image_taken_on" not in form:
            fields["image_taken_on"] = ",".join(["2025-01-10"] * len(images))
        files = [("images", (f"face{i}.jpg", data, "image/jpeg")) for i, data in enumerate(images)]
        async with self.client(role) as client:
            return await client.post(f"{API}/{watchlist_id}/entries", data=fields, files=files)

    async def deliver(self, message: EventMessage) -> bool:
        """Exactly what the EventConsumer does with one message (tracking row + handler + commit)."""
        handler = deployment_events_handler(self.parts.services)
        return await deliver(self.parts.kit.db, CONSUMER_NAME, handler, message)

    async def gallery(self, deployment_id: str) -> gallery_pb2.GalleryResponse:
        async with grpc.aio.insecure_channel(self.grpc_target) as channel:
            stub = gallery_pb2_grpc.GalleryStub(channel)
            return await stub.GetGallery(gallery_pb2.GetGalleryRequest(deployment_id=deployment_id))


def deployment_event(event_type: str, deployment_id: str, data: dict[str, Any], *,
                     actor: str = "supt-ao", role: str = "authorising_officer") -> EventMessage:
    """A deployment event exactly as the deployments service publishes it (docs/architecture.md)."""
    return event_message("deployment", deployment_id, event_type, data, actor=actor, role=role, version=5,
                         correlation_id="corr-dep", at=NOW)  # fmt: skip


def authorised(deployment_id: str, watchlist_id: str, version: int) -> EventMessage:
    return deployment_event("DeploymentAuthorised", deployment_id, {
        "watchlist_id": watchlist_id, "watchlist_version": version, "watchlist_size": version,
        "threshold": 0.6, "expected_false_alerts_per_1000": 0.2, "calibration_model_version": MODEL_VERSION})


@contextlib.asynccontextmanager
async def running_watchlists(data_dir: Path, enroller: Enroller, *, database_url: str | None = None,
                             ring: KeyRing | None = None, **overrides: Any) -> AsyncIterator[WatchlistsEnv]:
    peers = await serve_data_keys(ring or in_memory_ring(), enrolment_registrar(enroller))
    target = peers.target
    settings = WatchlistsSettings(data_dir=data_dir, database_url=database_url,
                                  grpc_targets={"deployments": target, "inference": target}, **overrides)
    clock = ManualClock(NOW)
    parts = build_components(settings, clock=clock)
    await parts.kit.start_database()
    await parts.rebuild_index()
    app = create_app("watchlists", [watchlists_router(parts.http)], parts.readiness_checks, settings)
    own = await serve_grpc(gallery_registrar(parts.kit.db, parts.vault))
    auth = settings.auth
    issuer = EmbeddedIssuer.load_or_create(settings.dev_key_path, auth.issuer, auth.audience)
    try:
        yield WatchlistsEnv(parts, app, peers.ring, peers.servicer, issuer, clock, data_dir, own.target)
    finally:
        await own.stop()
        await parts.close()
        await parts.kit.db.dispose()
        await peers.stop()


def taken(on: date) -> str:
    return on.isoformat()
