"""Runs the inference service's pieces (event store on SQLite, outbox relay, tracked deployments
consumer, frames consumer, recognition worker) on a real tansu broker, with real in-test gRPC peers:
DataKeys over `lfr_platform.crypto.KeyRing`, and a Gallery servicer holding templates made by the
service's own Enrol. Frames are sealed and sent exactly as the frame wire contract says ingest does."""

from __future__ import annotations

import asyncio
import functools
import io
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import numpy as np
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from lfr_inference.adapters.frame_wire import frame_aad
from lfr_inference.app.calibrations import Calibrations
from lfr_inference.bootstrap import InferenceService, build_service, frames_rotation
from lfr_inference.settings import InferenceSettings
from lfr_inference.vision.backends import InferenceBackend
from lfr_inference.vision.calibration import Calibration
from lfr_platform.crypto import KeyRing, new_key, seal
from lfr_platform.messaging import EventMessage, KafkaSettings
from lfr_proto.lfr.watchlists.v1 import gallery_pb2, gallery_pb2_grpc
from PIL import Image

from tests.fixtures import waiting
from tests.fixtures.events import DeploymentFeed
from tests.fixtures.grpc_peers import DataKeysServer, in_memory_ring, serve_data_keys

# For tests: the default threshold 0.6 sits at cosine 0.93. On the registry images, Obama's other
# photos score 0.95-0.97 against his enrolment photo, Biden 0.81-0.85.
TEST_CALIBRATION = Calibration(
    model_version="test",
    score_kind="cosine",
    knots_raw=(-1.0, 0.88, 0.93, 1.0),
    knots_calibrated=(0.0, 0.3, 0.6, 1.0),
)
FRAME_SIZE = (480, 640)


# The bound on a hang here: the recognition worker on a loaded 2-core machine is slow, not stuck.
wait_until = functools.partial(waiting.wait_until, within=90.0)


# ------------------------------------------------------------------------------------------ peers


class StaticGallery(gallery_pb2_grpc.GalleryServicer):
    def __init__(self) -> None:
        self.galleries: dict[str, gallery_pb2.GalleryResponse] = {}

    def register(self, server: grpc.aio.Server) -> None:
        gallery_pb2_grpc.add_GalleryServicer_to_server(self, server)

    async def GetGallery(self, request, context):  # noqa: N802
        reply = self.galleries.get(request.deployment_id)
        if reply is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "no watchlist for this deployment")
        return reply


# ------------------------------------------------------------------------------------------ frames


def compose(placements: Sequence[tuple[np.ndarray, tuple[int, int]]], seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    frame = np.full((*FRAME_SIZE, 3), 90, np.uint8) + rng.integers(0, 20, (*FRAME_SIZE, 3), dtype=np.uint8)
    for image, (x, y) in placements:
        h, w = image.shape[:2]
        frame[y : y + h, x : x + w] = image[: FRAME_SIZE[0] - y, : FRAME_SIZE[1] - x]
    return frame


def jpeg_of(rgb: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


# ------------------------------------------------------------------------------------------ harness


@dataclass
class Harness:
    service: InferenceService
    settings: InferenceSettings
    kafka: KafkaSettings
    ring: KeyRing
    peers: DataKeysServer  # DataKeys and the Gallery
    gallery: StaticGallery
    feed: DeploymentFeed
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    async def start_deployment(
        self, deployment_id: str, threshold: float = 0.6, cameras: Sequence[str] = ()
    ) -> None:
        now = datetime.now(UTC)
        await self.ring.ensure_key(deployment_id, "frames")
        await self.ring.ensure_key(deployment_id, "alert_media")
        window = {
            "start": (now - timedelta(hours=1)).isoformat(),
            "end": (now + timedelta(hours=1)).isoformat(),
        }
        form = {
            "window": window,
            "threshold": {"value": threshold, "justification": None},
            "watchlist_id": f"wl-{deployment_id}",
            "cameras": list(cameras),
        }
        await self.feed.send(deployment_id, "DeploymentDrafted", {"form": form})
        await self.feed.send(
            deployment_id,
            "DeploymentAuthorised",
            {
                "watchlist_id": f"wl-{deployment_id}",
                "watchlist_version": 1,
                "watchlist_size": 1,
                "threshold": threshold,
                "expected_false_alerts_per_1000": 0.001,
                "calibration_model_version": "dlib-resnet-v1-onnx1",
            },
        )
        await self.feed.send(deployment_id, "DeploymentStarted", {})

    async def send_frame(
        self,
        deployment_id: str,
        camera_id: str,
        seq: int,
        rgb: np.ndarray,
        roi: Sequence[tuple[float, float]] | None = None,
    ) -> None:
        """Seal and send one frame exactly as ingest's FramePublisher does (same headers, same AAD)."""
        key = await self.ring.data_key(deployment_id, "frames")
        capture_ns = time.time_ns()
        jpeg = jpeg_of(rgb)
        roi_header = json.dumps([list(p) for p in (roi or ((0, 0), (1, 0), (1, 1), (0, 1)))])
        headers = [
            ("capture_ns", str(capture_ns).encode()),
            ("deployment_id", deployment_id.encode()),
            ("camera_id", camera_id.encode()),
            ("frame_seq", str(seq).encode()),
            ("key_id", f"{deployment_id}/frames".encode()),
            ("roi", roi_header.encode()),
            ("width", str(rgb.shape[1]).encode()),
            ("height", str(rgb.shape[0]).encode()),
            ("content_type", b"image/jpeg"),
        ]
        topic = frames_rotation(self.settings).current()
        value = seal(key, jpeg, frame_aad(camera_id, deployment_id, capture_ns))
        await self.feed.producer.send_and_wait(topic, value, key=camera_id.encode(), headers=headers)

    async def read_topic(
        self, topic: str, *, until: Callable[[list[Any]], bool] | None = None, within: float = 60.0
    ) -> list[Any]:
        """Every record of a topic from its start (waits until `until(records)` if given)."""
        consumer = AIOKafkaConsumer(topic, **self.kafka.consumer_kwargs(None))
        await consumer.start()
        records: list[Any] = []
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + within
            while True:
                batch = await consumer.getmany(timeout_ms=300)
                for part in batch.values():
                    records.extend(part)
                done = until(records) if until else not batch
                if done:
                    return records
                if loop.time() > deadline:
                    raise AssertionError(f"timed out reading {topic}: {len(records)} records")
        finally:
            await consumer.stop()

    async def events(self, *, until: Callable[[list[EventMessage]], bool]) -> list[EventMessage]:
        records = await self.read_topic(
            self.settings.events_topic,
            until=lambda rs: until([EventMessage.from_bytes(r.value) for r in rs]),
        )
        return [EventMessage.from_bytes(r.value) for r in records]

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for hook in self.service.runtime.on_stop:
            await hook()
        await self.feed.producer.stop()
        await self.peers.stop()


async def start_harness(
    tmp_path: Path,
    kafka: KafkaSettings,
    prefix: str,
    *,
    backend: InferenceBackend | None = None,
    shipped_calibration: bool = False,
) -> Harness:
    """`shipped_calibration`: the model's own table (flip-averaged cosine) exactly as in production;
    otherwise TEST_CALIBRATION, whose threshold the registry images clear with a wide margin."""
    gallery = StaticGallery()
    peers = await serve_data_keys(in_memory_ring(new_key()), gallery.register)
    settings = InferenceSettings(
        data_dir=tmp_path / "data",
        kafka=kafka,
        grpc_targets={"deployments": peers.target, "watchlists": peers.target},
        events_topic=f"{prefix}lfr.inference.events.v1",
        deployments_topic=f"{prefix}lfr.deployments.events.v1",
        frames_topic=f"{prefix}lfr.ingest.frames.v1",
        frames_partitions=1,
        consumer_group_prefix=prefix,
        tally_interval_seconds=3600,  # tests flush explicitly
        max_frame_age_seconds=120,  # a loaded 2-core machine may lag; freshness is unit-tested
        frame_queue_size=256,
        max_backlog_per_camera=256,  # every test frame is processed; the latency policy is unit-tested
    )
    calibrations = None if shipped_calibration else Calibrations.single(TEST_CALIBRATION)
    service = build_service(settings, backend=backend, calibrations=calibrations)
    producer = AIOKafkaProducer(**kafka.producer_kwargs())
    await producer.start()
    feed = DeploymentFeed(producer, settings.deployments_topic)
    harness = Harness(service, settings, kafka, peers.ring, peers, gallery, feed)
    for hook in service.runtime.on_start:
        await hook()
    harness.tasks = [asyncio.create_task(job()) for job in service.runtime.background]
    await wait_until(service.kit.broker_connected.is_set, what="the service connected to the broker")
    return harness


async def enrol_into_gallery(harness: Harness, deployment_id: str, entry_id: str, image: bytes) -> None:
    """Enrol through the service's own Enrol use case and serve the template as the watchlist's."""
    outcome = await harness.service.enroller.enrol(image)
    assert hasattr(outcome, "embedding"), outcome
    harness.gallery.galleries[deployment_id] = gallery_pb2.GalleryResponse(
        watchlist_id=f"wl-{deployment_id}",
        version=1,
        frozen=True,
        model_version=outcome.model_version,
        entries=[gallery_pb2.GalleryEntry(entry_id=entry_id, template=outcome.embedding, category="suspect")],
    )
