"""The streaming supervisor: runs a decoder thread and a publisher task for exactly the cameras that may
stream now, and records their up/down history.

Every pass (on any change, and at least every `tick` seconds for the window end) it compares what should
run (`Registry.why_not_streaming` with the clock) with what runs: it starts, stops or restarts streams.
Stopping is immediate for publication (the publisher re-checks the gate before every send) and
asynchronous for the thread (it notices its stop flag within a frame or a read timeout).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lfr_platform.telemetry import get_logger
from lfr_platform.waiting import wait_at_most

from lfr_ingest.adapters.frame_buffer import DropOldestBuffer
from lfr_ingest.adapters.publisher import FramePublisher, PublishStats, cancel_quietly
from lfr_ingest.adapters.sources import SourceConfig, SourceStats, StatusUpdate, StreamWorker
from lfr_ingest.app.handlers import IngestApp
from lfr_ingest.domain.events import CameraSettings
from lfr_ingest.domain.roi import WHOLE_FRAME, ZoneOfRecognition
from lfr_ingest.domain.source_url import SourceKind

log = get_logger(__name__)


@dataclass(frozen=True)
class StreamTuning:
    media_root: Path
    frame_buffer: int = 4
    jpeg_quality: int = 80
    open_timeout: float = 10.0
    read_timeout: float = 5.0
    reconnect_min: float = 0.5
    reconnect_max: float = 30.0
    tick: float = 0.2


class _Rate:
    def __init__(self) -> None:
        self._last = (time.monotonic(), 0)
        self.value = 0.0

    def update(self, count: int) -> float:
        now = time.monotonic()
        then, before = self._last
        if now - then >= 1.0:
            self.value = (count - before) / (now - then)
            self._last = (now, count)
        return self.value


@dataclass
class _Stream:
    generation: int
    deployment_id: str
    settings: CameraSettings
    worker: StreamWorker
    buffer: DropOldestBuffer
    publish: PublishStats
    task: asyncio.Task[None]


@dataclass
class _Health:
    last_error: dict[str, Any] | None = None
    reason: str | None = None
    totals: dict[str, int] = field(default_factory=lambda: {"dropped": 0, "published": 0, "decoded": 0})
    rate_in: _Rate = field(default_factory=_Rate)
    rate_out: _Rate = field(default_factory=_Rate)
    stats: SourceStats = field(default_factory=SourceStats)


class StreamSupervisor:
    def __init__(
        self,
        app: IngestApp,
        publisher: FramePublisher,
        tuning: StreamTuning,
        *,
        worker_factory: Callable[..., StreamWorker] = StreamWorker,
    ) -> None:
        self._app = app
        self._publisher = publisher
        self._tuning = tuning
        self._worker_factory = worker_factory
        self._streams: dict[str, _Stream] = {}
        self._health: dict[str, _Health] = {}
        self._updates: asyncio.Queue[tuple[int, StatusUpdate]] = asyncio.Queue()
        self._wake = asyncio.Event()
        self._generation = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self.passes = 0

    def wake(self) -> None:
        self._wake.set()

    # Main loop ----------------------------------------------------------------------------------------

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._close_stale_connections()
        try:
            while True:
                await self.reconcile()
                await self._drain_updates()
                await wait_at_most(self._tuning.tick, self._next_signal())
        finally:
            await self.stop_all("service_stopping")

    async def _next_signal(self) -> None:
        getter = asyncio.ensure_future(self._updates.get())
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            done, _ = await asyncio.wait({getter, waker}, return_when=asyncio.FIRST_COMPLETED)
            if getter in done:
                self._updates.put_nowait(getter.result())
        finally:
            for pending in (getter, waker):
                if not pending.done():
                    pending.cancel()
            self._wake.clear()

    async def reconcile(self) -> None:
        self.passes += 1
        now = self._app.clock.now()
        registry = self._app.registry
        for camera_id, camera in list(registry.cameras.items()):
            reason = registry.why_not_streaming(camera_id, now)
            self._health.setdefault(camera_id, _Health()).reason = reason
            running = self._streams.get(camera_id)
            if running is not None and (
                reason is not None
                or running.deployment_id != camera.deployment_id
                or running.settings != camera.settings
            ):
                await self._stop(camera_id, reason or "camera_settings_changed")
                running = None
            if running is None and reason is None and camera.deployment_id and camera.settings:
                self._start(camera_id, camera.deployment_id, camera.settings)
        for camera_id in [c for c in self._streams if c not in registry.cameras]:
            await self._stop(camera_id, "camera_removed")

    # Streams ------------------------------------------------------------------------------------------

    def _start(self, camera_id: str, deployment_id: str, settings: CameraSettings) -> None:
        assert self._loop is not None
        self._generation += 1
        generation = self._generation
        tuning = self._tuning
        config = SourceConfig(
            camera_id=camera_id,
            url=self._app.vault.open(camera_id, settings.source_url_sealed),
            kind=SourceKind(settings.source_kind),
            media_root=tuning.media_root,
            fps=settings.fps,
            max_width=settings.max_width,
            max_height=settings.max_height,
            rtsp_transport=settings.rtsp_transport,
            jpeg_quality=tuning.jpeg_quality,
            open_timeout=tuning.open_timeout,
            read_timeout=tuning.read_timeout,
            reconnect_min=tuning.reconnect_min,
            reconnect_max=tuning.reconnect_max,
        )
        loop = self._loop
        buffer = DropOldestBuffer(tuning.frame_buffer, loop)
        health = self._health.setdefault(camera_id, _Health())
        stats = SourceStats()
        health.stats = stats

        def on_status(update: StatusUpdate) -> None:  # decoder thread -> event loop
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._updates.put_nowait, (generation, update))

        worker = self._worker_factory(config, deployment_id, buffer, on_status, stats)
        publish = PublishStats()
        zone = ZoneOfRecognition(settings.zone) if settings.zone else WHOLE_FRAME
        task = asyncio.create_task(
            self._publisher.run(buffer, publish, zone.to_header()), name=f"publish-{camera_id}"
        )
        self._streams[camera_id] = _Stream(generation, deployment_id, settings, worker, buffer, publish, task)
        worker.start()
        log.info("camera stream started", camera_id=camera_id, deployment_id=deployment_id)

    async def _stop(self, camera_id: str, reason: str) -> None:
        stream = self._streams.pop(camera_id, None)
        if stream is None:
            return
        stream.worker.stop()
        stream.buffer.clear()
        await cancel_quietly(stream.task)
        health = self._health.setdefault(camera_id, _Health())
        health.totals["dropped"] += stream.buffer.dropped
        health.totals["published"] += stream.publish.published
        health.totals["decoded"] += stream.worker.stats.decoded
        health.stats = SourceStats()
        log.info("camera stream stopped", camera_id=camera_id, reason=reason)
        await self._app.record_disconnected(camera_id, stream.deployment_id, reason)
        # The thread ends on its own (stop flag, read timeout); joining it here would block the loop.
        asyncio.get_running_loop().run_in_executor(None, stream.worker.join, 30.0)

    async def stop_all(self, reason: str) -> None:
        for camera_id in list(self._streams):
            with contextlib.suppress(Exception):
                await self._stop(camera_id, reason)

    async def _drain_updates(self) -> None:
        while not self._updates.empty():
            generation, update = self._updates.get_nowait()
            stream = self._streams.get(update.camera_id)
            if stream is None or stream.generation != generation:
                continue  # from a stream already stopped: its end was recorded with the stop reason
            try:
                await self._apply(update)
            except Exception as error:  # recording must not kill the supervisor
                log.warning(
                    "camera status not recorded", camera_id=update.camera_id, error=type(error).__name__
                )

    async def _apply(self, update: StatusUpdate) -> None:
        health = self._health.setdefault(update.camera_id, _Health())
        if update.state == "connected":
            await self._app.record_connected(
                update.camera_id, update.deployment_id, update.width, update.height, update.codec
            )
            log.info("camera connected", camera_id=update.camera_id, codec=update.codec)
        elif update.state == "failed":
            health.last_error = {
                "code": update.code,
                "message": update.message,
                "at": self._app.clock.now().isoformat(),
            }
            log.warning("camera source failed", camera_id=update.camera_id, code=update.code)
            await self._app.record_error(update.camera_id, update.deployment_id, update.code, update.message)

    async def _close_stale_connections(self) -> None:
        """A camera recorded as connected when the service last stopped is down now: say so."""
        for camera in list(self._app.registry.cameras.values()):
            if camera.connected:
                with contextlib.suppress(Exception):
                    await self._app.record_disconnected(camera.id, camera.deployment_id, "service_restarted")

    # Health -------------------------------------------------------------------------------------------

    def health(self, camera_id: str) -> dict[str, Any]:
        health = self._health.setdefault(camera_id, _Health())
        stream = self._streams.get(camera_id)
        decoded = health.totals["decoded"] + health.stats.decoded
        published = health.totals["published"] + (stream.publish.published if stream else 0)
        dropped = health.totals["dropped"] + (stream.buffer.dropped if stream else 0)
        return {
            "camera_id": camera_id,
            "streaming": stream is not None,
            "connected": bool(stream and health.stats.connected),
            "deployment_id": stream.deployment_id if stream else None,
            "not_streaming_reason": self._app.registry.why_not_streaming(camera_id, self._app.clock.now()),
            "fps_in": round(health.rate_in.update(decoded), 2),
            "fps_out": round(health.rate_out.update(published), 2),
            "frames_decoded": decoded,
            "frames_published": published,
            "frames_dropped": dropped,
            "frames_discarded": stream.publish.discarded if stream else 0,
            "reconnects": health.stats.reconnects,
            "publish_error": stream.publish.last_error if stream else None,
            "last_error": health.last_error,
        }

    def camera_ids(self) -> list[str]:
        return sorted(self._app.registry.cameras)

    @property
    def streaming(self) -> list[str]:
        return sorted(self._streams)
