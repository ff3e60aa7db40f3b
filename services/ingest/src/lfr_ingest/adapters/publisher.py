"""Publishes sampled frames to the frames stream: JPEG sealed with the deployment's `frames` data key.

Wire format (one Kafka record per frame), the contract with inference:
* topic: the current slot of `RotatingTopic("lfr.ingest.frames.v1")` (slots `.s0`..`.s2`, 20 s each);
* key: camera id; value: `lfr_platform.crypto.seal(frames_key, jpeg, frame_aad(...))`;
* headers: `capture_ns` (UTC ns), `deployment_id`, `camera_id`, `frame_seq`, `key_id`, `roi` (JSON
  polygon in 0..1 frame coordinates), `width`, `height`, `content_type` (`image/jpeg`).

Every frame is checked against the deployment's authority just before it is sent: a frame captured
before a halt is discarded, not published. Sends are pipelined up to `max_in_flight`; while Kafka lags
the per-camera buffer drops its oldest frames instead of growing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import AIOKafkaProducer
from lfr_platform.crypto import DataClass, DataKeyError, seal
from lfr_platform.data_keys import DataKeySource
from lfr_platform.messaging.rotation import RotatingTopic

from lfr_ingest.adapters.frame_buffer import CapturedFrame, DropOldestBuffer

Gate = Callable[[str, str], bool]  # (camera id, deployment id) -> may this frame be published now?


def frame_aad(camera_id: str, deployment_id: str, capture_ns: int) -> bytes:
    """Binds a sealed frame to its camera, deployment and capture time (inference opens with the same)."""
    return f"lfr-frame:v1:{camera_id}:{deployment_id}:{capture_ns}".encode()


@dataclass
class PublishStats:
    published: int = 0
    discarded: int = 0  # captured while allowed, no longer allowed at send time (halt, end)
    key_failures: int = 0
    send_failures: int = 0
    last_error: str | None = None
    last_published_ns: int = 0


class FramePublisher:
    def __init__(
        self,
        producer: AIOKafkaProducer | None,
        rotation: RotatingTopic,
        keys: DataKeySource,
        gate: Gate,
        *,
        max_in_flight: int = 8,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.producer = producer  # set once the broker answers (bootstrap)
        self._rotation = rotation
        self._keys = keys
        self._gate = gate
        self._max_in_flight = max_in_flight
        self._clock = clock

    async def run(self, buffer: DropOldestBuffer, stats: PublishStats, roi_header: str) -> None:
        in_flight: deque[asyncio.Future[object]] = deque()
        try:
            while True:
                frame = await buffer.get()
                await self._publish(frame, stats, roi_header, in_flight)
                while in_flight and in_flight[0].done():
                    in_flight.popleft()
                if len(in_flight) > self._max_in_flight:  # Kafka lags: stop taking frames, the buffer drops
                    await asyncio.wait([in_flight.popleft()])
        finally:
            for future in in_flight:
                future.cancel()

    async def _publish(
        self,
        frame: CapturedFrame,
        stats: PublishStats,
        roi_header: str,
        in_flight: deque[asyncio.Future[object]],
    ) -> bool:
        if not self._gate(frame.camera_id, frame.deployment_id):
            stats.discarded += 1
            return False
        try:
            key = await self._keys.get(frame.deployment_id, DataClass.FRAMES)
        except DataKeyError as error:
            stats.key_failures += 1
            stats.last_error = error.code
            return False
        value = seal(key.key, frame.jpeg, frame_aad(frame.camera_id, frame.deployment_id, frame.capture_ns))
        if not self._gate(frame.camera_id, frame.deployment_id):  # the key lookup may have awaited
            stats.discarded += 1
            return False
        headers = [
            ("capture_ns", str(frame.capture_ns).encode()),
            ("deployment_id", frame.deployment_id.encode()),
            ("camera_id", frame.camera_id.encode()),
            ("frame_seq", str(frame.seq).encode()),
            ("key_id", key.key_id.encode()),
            ("roi", roi_header.encode()),
            ("width", str(frame.width).encode()),
            ("height", str(frame.height).encode()),
            ("content_type", b"image/jpeg"),
        ]
        if self.producer is None:
            stats.send_failures += 1
            stats.last_error = "kafka_not_connected"
            return False
        try:
            future = await self.producer.send(
                self._rotation.current(self._clock()), value, key=frame.camera_id.encode(), headers=headers
            )
        except asyncio.CancelledError:
            raise
        except Exception as error:  # broker away: this frame is lost, the next one tries again
            stats.send_failures += 1
            stats.last_error = f"kafka_send_failed: {type(error).__name__}"
            await asyncio.sleep(0.2)
            return False
        future.add_done_callback(lambda done: self._settled(done, stats))
        in_flight.append(future)
        return True

    @staticmethod
    def _settled(future: asyncio.Future[object], stats: PublishStats) -> None:
        if future.cancelled():
            return
        error = future.exception()
        if error is not None:
            stats.send_failures += 1
            stats.last_error = f"kafka_send_failed: {type(error).__name__}"
            return
        stats.published += 1
        stats.last_published_ns = time.time_ns()


async def cancel_quietly(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
