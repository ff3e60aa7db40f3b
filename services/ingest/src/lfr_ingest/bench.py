"""`lfr bench ingest --json`: N file-backed 720p cameras at 10 fps for a while, through the real service
(decoder threads, sealing, the embedded tansu broker), then a halt.

Reports frames published per second, process CPU per camera, drops, resident memory after warm-up and at
the end (flat within 10% is the bar) and the halt-to-last-frame latency (bar: 1 s)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
import psutil
from aiokafka import AIOKafkaProducer, ConsumerRecord
from lfr_platform.crypto import DataClass, InMemoryWrappedKeyStore, KeyRing
from lfr_platform.data_keys import DataKey
from lfr_platform.messaging import EmbeddedBroker, KafkaSettings, RawConsumer
from lfr_platform.messaging.wire import EventMessage
from pydantic import SecretStr

from lfr_ingest.app import commands as c
from lfr_ingest.bootstrap import assemble
from lfr_ingest.settings import IngestSettings

WARM_UP_S = 5.0


class KeyRingDataKeys:
    """The data-key port over a KeyRing in this process: the bench runs no deployments service."""

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring

    async def get(self, deployment_id: str, data_class: DataClass | str) -> DataKey:
        kind = DataClass(data_class)
        return DataKey(f"{deployment_id}/{kind.value}", await self._ring.data_key(deployment_id, kind))


def _write_clip(path: Path, width: int, height: int, fps: int, seconds: int = 10) -> None:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.time_base = Fraction(1, fps)
        stream.options = {"preset": "ultrafast"}
        # A smooth scene with some texture: JPEG sizes like a real street camera, not like noise.
        y, x = np.mgrid[0:height, 0:width]
        rng = np.random.default_rng(7)
        scene = np.stack([128 + 100 * np.sin(x / 37.0), 128 + 100 * np.cos(y / 23.0), (x + y) % 256], axis=-1)
        base = np.clip(scene + rng.normal(0, 6, scene.shape), 0, 255).astype(np.uint8)
        for i in range(fps * seconds):
            frame = av.VideoFrame.from_ndarray(np.roll(base, i * 8, axis=1), format="rgb24")
            frame.pts = i
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


async def _send(
    producer: AIOKafkaProducer,
    topic: str,
    deployment_id: str,
    version: int,
    event_type: str,
    data: dict[str, Any],
) -> None:
    now = datetime.now(UTC)
    message = EventMessage(
        event_id=uuid.uuid4(),
        stream_id=deployment_id,
        stream_type="deployment",
        version=version,
        position=version,
        event_type=event_type,
        schema_version=1,
        data=data,
        metadata={"actor": "bench", "role": "silver_commander"},
        occurred_at=now,
        recorded_at=now,
        source="deployments",
    )
    await producer.send_and_wait(topic, message.to_bytes(), key=deployment_id.encode())


async def _wait(predicate: Any, what: str, within: float = 120.0) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"bench: no {what} after {within:g} s")
        await asyncio.sleep(0.05)


async def _run(cameras: int, seconds: int, width: int, height: int, fps: int, work: Path) -> dict[str, Any]:
    media = work / "media"
    media.mkdir()
    _write_clip(media / "clip.mp4", width, height, fps)
    broker = EmbeddedBroker()
    await broker.start()
    kafka = KafkaSettings(bootstrap_servers=broker.bootstrap_servers)
    master = os.urandom(32)
    ring = KeyRing(master, InMemoryWrappedKeyStore())
    settings = IngestSettings(
        data_dir=work / "data",
        master_key=SecretStr(base64.b64encode(master).decode()),
        kafka=kafka,
        media_root=media,
        max_width=width,
        max_height=height,
        max_fps=max(30, fps),
    )
    runtime, parts = assemble(settings, keys=KeyRingDataKeys(ring))
    tasks: list[asyncio.Task[None]] = []
    frames: list[tuple[float, int]] = []  # (broker timestamp s, size)

    async def collect(record: ConsumerRecord[bytes, bytes]) -> None:
        frames.append((record.timestamp / 1000, len(record.value or b"")))

    consumer = RawConsumer(
        "bench-frames", collect, kafka, partitions=parts.rotation.topic_partitions(), start_at_end=False
    )
    producer = AIOKafkaProducer(**kafka.producer_kwargs())
    process = psutil.Process()
    try:
        for hook in runtime.on_start:
            await hook()
        tasks = [asyncio.create_task(job()) for job in runtime.background]
        await _wait(parts.frames_ready.is_set, "frames topic")
        await _wait(parts.kit.broker_connected.is_set, "broker connection")
        await consumer.start()
        await producer.start()
        ids = [f"bench-{i}" for i in range(cameras)]
        for camera_id in ids:
            await parts.ingest.register(
                c.RegisterCamera(
                    camera_id=camera_id,
                    name=camera_id,
                    source_url=f"file://{media / 'clip.mp4'}",
                    fps=fps,
                    max_width=width,
                    max_height=height,
                    actor="bench",
                    role="admin",
                )
            )
        await ring.ensure_key("dep-bench", DataClass.FRAMES)
        start = datetime.now(UTC) - timedelta(minutes=1)
        form = {
            "window": {"start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat()},
            "cameras": ids,
        }
        topic = settings.deployments_topic
        for version, (event_type, data) in enumerate(
            [("DeploymentDrafted", {"form": form}), ("DeploymentAuthorised", {}), ("DeploymentStarted", {})],
            1,
        ):
            await _send(producer, topic, "dep-bench", version, event_type, data)
        await _wait(lambda: len(frames) > cameras * fps, "frames")
        await _wait(lambda: "dep-bench" in parts.ingest.registry.deployments, "the deployment view")
        await asyncio.sleep(WARM_UP_S)  # decoders, encoders and buffers reach their steady size

        rss_start = process.memory_info().rss / 2**20
        cpu_start, wall_start, count_start = process.cpu_times(), time.monotonic(), len(frames)
        await asyncio.sleep(seconds)
        cpu_end, wall_end, count_end = process.cpu_times(), time.monotonic(), len(frames)
        rss_end = process.memory_info().rss / 2**20

        halted_at = time.time()
        await _send(producer, topic, "dep-bench", 4, "DeploymentHalted", {"reason": "bench"})
        view = parts.ingest.registry.deployments
        await _wait(lambda: view["dep-bench"].status.value == "halted", "the halt applied", within=120)
        applied_at = time.time()  # consumer delivery lag ends here; the gate shuts from now on
        await _wait(lambda: not parts.supervisor.streaming, "stop after the halt")
        await asyncio.sleep(2.0)  # anything still in flight lands (the figure is what arrived late)
        last_frame = max(t for t, _ in frames)
        health = [parts.supervisor.health(camera_id) for camera_id in ids]
        wall = wall_end - wall_start
        cpu = (cpu_end.user + cpu_end.system) - (cpu_start.user + cpu_start.system)
        return {
            "cameras": cameras,
            "seconds": seconds,
            "frames_published_per_s": round((count_end - count_start) / wall, 2),
            "cpu_percent_per_camera": round(100 * cpu / wall / cameras, 1),
            "dropped": sum(h["frames_dropped"] for h in health),
            "rss_mb_start": round(rss_start, 1),
            "rss_mb_end": round(rss_end, 1),
            "rss_growth_pct": round(100 * (rss_end - rss_start) / rss_start, 1),
            "halt_to_last_frame_ms": round(max(0.0, last_frame - halted_at) * 1000, 1),
            # Split of the figure above: Kafka delivery of the halt to ingest, then ingest's own reaction.
            "halt_delivery_ms": round((applied_at - halted_at) * 1000, 1),
            "halt_applied_to_last_frame_ms": round(max(0.0, last_frame - applied_at) * 1000, 1),
            "mean_frame_kb": round(sum(s for _, s in frames) / len(frames) / 1024, 1),
            "width": width,
            "height": height,
            "fps": fps,
            "cpu_count": os.cpu_count(),
            "load_average_1m": round(os.getloadavg()[0], 2),
        }
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for hook in runtime.on_stop:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(hook(), 15)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(consumer.stop(), 15)
        with contextlib.suppress(Exception):
            await producer.stop()
        await broker.stop()


def run_ingest_bench(
    cameras: int = 4, seconds: int = 60, width: int = 1280, height: int = 720, fps: int = 10
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="lfr-ingest-bench-") as work:
        return asyncio.run(_run(cameras, seconds, width, height, fps, Path(work)))


if __name__ == "__main__":  # python -m lfr_ingest.bench [seconds] [cameras]
    import json
    import sys

    args = [int(a) for a in sys.argv[1:3]]
    result = run_ingest_bench(seconds=args[0] if args else 60, cameras=args[1] if len(args) > 1 else 4)
    sys.stdout.write(json.dumps(result, indent=2) + "\n")
