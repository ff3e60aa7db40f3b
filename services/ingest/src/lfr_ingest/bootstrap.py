"""Composition root of the ingest service: the only place that builds engines, producers and clients."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from lfr_platform.data_keys import DataKeySource, GrpcDataKeys
from lfr_platform.http import ReadinessCheck, create_app
from lfr_platform.messaging.rotation import RotatingTopic, TopicRecycler
from lfr_platform.runtime import ServiceRuntime
from lfr_platform.service import ServiceKit
from lfr_platform.telemetry import get_logger

from lfr_ingest.adapters.credentials import SourceUrlVault
from lfr_ingest.adapters.metrics import CameraMetrics, register_camera_metrics
from lfr_ingest.adapters.publisher import FramePublisher
from lfr_ingest.app.handlers import IngestApp, Limits
from lfr_ingest.app.streaming import StreamSupervisor, StreamTuning
from lfr_ingest.domain.camera import Camera
from lfr_ingest.entrypoints.consumers.deployments import CONSUMER_NAME, deployments_handler
from lfr_ingest.entrypoints.http.routes import build_routers
from lfr_ingest.settings import IngestSettings

log = get_logger(__name__)

DEFAULT_DEPLOYMENTS_TARGET = "127.0.0.1:9101"


def frames_rotation(settings: IngestSettings) -> RotatingTopic:
    return RotatingTopic(
        settings.frames_topic,
        slots=settings.frames_slots,
        slot_seconds=settings.frames_slot_seconds,
        partitions=settings.frames_partitions,
    )


@dataclass
class IngestParts:
    """What tests and the bench reach into."""

    kit: ServiceKit
    ingest: IngestApp
    supervisor: StreamSupervisor
    publisher: FramePublisher
    rotation: RotatingTopic
    frames_ready: asyncio.Event


def _camera_registry(settings: IngestSettings) -> tuple[ServiceKit, IngestApp]:
    """The event store and the camera registry over it: what the service and the re-seal job share."""
    events_topic = settings.events_topic
    kit = ServiceKit(settings, router=lambda st: events_topic if st == Camera.stream_type else None)
    ingest = IngestApp(
        kit.db,
        SourceUrlVault(settings.master_key_bytes(), settings.previous_master_keys_bytes()),
        Limits(
            str(settings.resolved_media_root),
            settings.default_fps,
            settings.max_fps,
            settings.max_width,
            settings.max_height,
        ),
    )
    return kit, ingest


def assemble(
    settings: IngestSettings, keys: DataKeySource | None = None
) -> tuple[ServiceRuntime, IngestParts]:
    kit, ingest = _camera_registry(settings)
    media_root = settings.resolved_media_root
    if keys is None:
        target = settings.grpc_targets.get("deployments", DEFAULT_DEPLOYMENTS_TARGET)
        # Frames wait on a fetch: fail fast, the camera's buffer drops its oldest frames meanwhile.
        keys = GrpcDataKeys.connect(
            target, settings, cache_seconds=settings.key_cache_seconds, deadline_seconds=3.0
        )
    rotation = frames_rotation(settings)
    publisher = FramePublisher(
        None,
        rotation,
        keys,
        gate=lambda camera_id, deployment_id: ingest.registry.may_publish(
            camera_id, deployment_id, ingest.clock.now()
        ),
        max_in_flight=settings.max_in_flight,
    )
    supervisor = StreamSupervisor(
        ingest,
        publisher,
        StreamTuning(
            media_root=media_root,
            frame_buffer=settings.frame_buffer,
            jpeg_quality=settings.jpeg_quality,
            open_timeout=settings.open_timeout_seconds,
            read_timeout=settings.read_timeout_seconds,
            reconnect_min=settings.reconnect_min_seconds,
            reconnect_max=settings.reconnect_max_seconds,
            tick=settings.authority_tick_seconds,
        ),
    )
    ingest.on_change = supervisor.wake
    kit.add_consumer(
        CONSUMER_NAME,
        deployments_handler(ingest),
        [settings.deployments_topic],
        group_id=f"{settings.topic_prefix}{CONSUMER_NAME}",
        topic_prefix=settings.topic_prefix,
    )
    frames_ready = asyncio.Event()

    async def check_frames_topic() -> None:
        if not frames_ready.is_set():
            raise RuntimeError("the frames topic is not created and verified yet")

    app = create_app(
        settings.service,
        build_routers(ingest, supervisor),
        [*kit.readiness_checks, ReadinessCheck("frames_topic", check_frames_topic)],
        settings,
    )
    register_camera_metrics(
        app.state.metrics_registry, CameraMetrics(supervisor.camera_ids, supervisor.health)
    )

    async def stream_frames() -> None:
        producer = await _start_producer(settings)
        recycler = TopicRecycler(settings.kafka, [rotation])
        try:
            await _retry("frames topic", recycler.prepare)  # creates every slot, verifies retention.ms
            if settings.recycle_frames_topic:
                await recycler.start()
            publisher.producer = producer
            frames_ready.set()
            log.info("frames topic ready", topics=rotation.topics())
            await supervisor.run()
        finally:
            await recycler.stop()
            with contextlib.suppress(Exception):
                await producer.stop()
            close = getattr(keys, "close", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()

    runtime = kit.runtime(app, background=[stream_frames])
    runtime.on_start.append(ingest.start)  # after the database is migrated (kit's hook runs first)
    runtime.on_start.append(_reseal_after_rotation(ingest))
    parts = IngestParts(kit, ingest, supervisor, publisher, rotation, frames_ready)
    return runtime, parts


def build(settings: IngestSettings) -> ServiceRuntime:
    runtime, _ = assemble(settings)
    return runtime


async def _start_producer(settings: IngestSettings) -> AIOKafkaProducer:
    kwargs = {**settings.kafka.producer_kwargs(), "acks": 1, "linger_ms": 2}
    delay = 0.2
    while True:
        producer = AIOKafkaProducer(**kwargs)
        try:
            await producer.start()
            return producer
        except Exception as error:
            log.warning("frames producer cannot start yet", error=type(error).__name__, retry_in=delay)
            with contextlib.suppress(Exception):
                await producer.stop()
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def _retry(what: str, action: Callable[[], Awaitable[object]]) -> None:
    delay = 0.2
    while True:
        try:
            await action()
            return
        except Exception as error:
            if "expected" in str(error):  # a config mismatch (e.g. retention) will not fix itself
                raise
            log.warning("retrying", what=what, error=type(error).__name__, retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


def _reseal_after_rotation(ingest: IngestApp) -> Callable[[], Awaitable[None]]:
    async def reseal() -> None:
        resealed = await ingest.reseal_sources()
        if resealed:
            log.info("camera source URLs re-sealed under the current master key", cameras=resealed)

    return reseal


async def reseal_camera_sources(settings: IngestSettings) -> list[str]:
    """Re-seal camera source URLs under the current master key without running the service (`lfr keys
    rotate` does this before it retires the embedded stack's old key). Needs only the database: the
    `CameraUpdated` events wait in the outbox until the service next starts."""
    kit, ingest = _camera_registry(settings)
    await kit.start_database()
    try:
        await ingest.start()
        return await ingest.reseal_sources()
    finally:
        await kit.db.dispose()
