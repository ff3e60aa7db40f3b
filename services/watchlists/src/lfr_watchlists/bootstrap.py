"""Composition root of the watchlists service: the only place that builds engines, producers and clients."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from lfr_platform.blobs import open_blob_store
from lfr_platform.clock import Clock, SystemClock
from lfr_platform.data_keys import GrpcDataKeys
from lfr_platform.eventstore import EventDatabase
from lfr_platform.grpc_security import peer_channel
from lfr_platform.http import ReadinessCheck, create_app
from lfr_platform.images import ImageLimits
from lfr_platform.runtime import GRPC_MESSAGE_OPTIONS, ServiceRuntime
from lfr_platform.service import ServiceKit
from lfr_platform.telemetry import get_logger

from lfr_watchlists.adapters.peers_grpc import GrpcEnroller
from lfr_watchlists.adapters.template_index import InMemoryTemplateIndex
from lfr_watchlists.adapters.vault import DataKeys, SealedBlobVault
from lfr_watchlists.app.biometrics import rebuild_template_index
from lfr_watchlists.app.handlers import WatchlistBus, WatchlistServices, build_bus
from lfr_watchlists.app.ports import Enroller
from lfr_watchlists.domain.watchlist import WatchlistPolicy
from lfr_watchlists.entrypoints.consumers.deployment_events import (
    CONSUMER_NAME,
    deployment_events_handler,
    log_dead_letter,
)
from lfr_watchlists.entrypoints.grpc.gallery import SERVICE_NAME as GALLERY_SERVICE
from lfr_watchlists.entrypoints.grpc.gallery import gallery_registrar
from lfr_watchlists.entrypoints.http.routes import WatchlistsHttp, watchlists_router
from lfr_watchlists.settings import WatchlistsSettings

TOPIC = "lfr.watchlists.events.v1"
REBUILD_RETRY_MAX_S = 5.0

log = get_logger(__name__)


@dataclass
class WatchlistsComponents:
    kit: ServiceKit
    services: WatchlistServices
    bus: WatchlistBus
    http: WatchlistsHttp
    vault: SealedBlobVault
    index: InMemoryTemplateIndex
    index_ready: asyncio.Event
    closers: list[Callable[[], Awaitable[None]]]

    async def rebuild_index(self) -> int:
        """Refill the duplicate index from the vault; retried until the key service answers."""
        delay = 0.2
        while True:
            try:
                count = await rebuild_template_index(self.kit.db.reader(), self.vault, self.index)
                break
            except Exception as error:  # the deployments service (keys) may still be starting
                log.warning("template index rebuild failed", error=type(error).__name__, retry_in=delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, REBUILD_RETRY_MAX_S)
        self.index_ready.set()
        log.info("template index rebuilt", templates=count)
        return count

    async def keep_index(self) -> None:
        """The background task: rebuild, then stay alive (the runtime stops when a background task ends)."""
        await self.rebuild_index()
        await asyncio.Event().wait()

    async def _check_index(self) -> None:
        if not self.index_ready.is_set():
            raise RuntimeError("the duplicate-detection index is still being rebuilt from the vault")

    @property
    def readiness_checks(self) -> list[ReadinessCheck]:
        return [*self.kit.readiness_checks, ReadinessCheck("template_index", self._check_index)]

    async def close(self) -> None:
        for close in self.closers:
            await close()


def build_components(
    settings: WatchlistsSettings,
    *,
    clock: Clock | None = None,
    enroller: Enroller | None = None,
    keys: DataKeys | None = None,
    database: EventDatabase | None = None,
) -> WatchlistsComponents:
    kit = ServiceKit(settings, router=lambda _stream_type: TOPIC, database=database)
    closers: list[Callable[[], Awaitable[None]]] = []
    if enroller is None:
        # An enrolment image travels in one message, larger than gRPC's 4 MB default.
        channel = peer_channel(settings.target("inference"), settings, options=GRPC_MESSAGE_OPTIONS)
        enroller = GrpcEnroller(channel, settings.enrol_deadline_seconds)
        closers.append(enroller.close)
    if keys is None:
        keys = GrpcDataKeys.connect(settings.target("deployments"), settings,
                                    cache_seconds=settings.key_cache_seconds)
        closers.append(keys.close)
    vault = SealedBlobVault(open_blob_store(settings), keys)
    index = InMemoryTemplateIndex()
    clock = clock or SystemClock()
    policy = WatchlistPolicy(duplicate_similarity=settings.duplicate_similarity)
    services = WatchlistServices(db=kit.db, enroller=enroller, templates=index, vault=vault, clock=clock,
                                 policy=policy)
    bus = build_bus(services)
    kit.add_consumer(CONSUMER_NAME, deployment_events_handler(services), [settings.deployments_topic],
                     on_dead_letter=log_dead_letter)
    limits = ImageLimits(max_bytes=settings.image_max_bytes, max_pixels=settings.image_max_pixels)
    http = WatchlistsHttp(bus=bus, db=kit.db, vault=vault, clock=clock, image_limits=limits)
    return WatchlistsComponents(kit=kit, services=services, bus=bus, http=http, vault=vault, index=index,
                                index_ready=asyncio.Event(), closers=closers)


def build(settings: WatchlistsSettings) -> ServiceRuntime:
    parts = build_components(settings)
    app = create_app(settings.service, [watchlists_router(parts.http)], parts.readiness_checks, settings)
    runtime = parts.kit.runtime(app, grpc=[gallery_registrar(parts.kit.db, parts.vault)],
                                grpc_service_names=[GALLERY_SERVICE], background=[parts.keep_index])
    runtime.on_stop.append(parts.close)
    return runtime
