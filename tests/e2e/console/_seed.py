"""Seeding a match into a running platform exactly as inference would: a sealed crop in the blob store
(under the deployment's alert_media key from the deployments service's DataKeys gRPC) and a `FaceMatched`
event on `lfr.inference.events.v1`."""

from __future__ import annotations

import asyncio
import concurrent.futures
import uuid
from datetime import UTC, datetime
from pathlib import Path

import grpc
from aiokafka import AIOKafkaProducer
from lfr_platform.blobs import FileBlobStore, blob_key, new_blob_id
from lfr_platform.crypto import DataClass, seal
from lfr_platform.messaging.wire import EventMessage
from lfr_proto.lfr.keys.v1 import keys_pb2, keys_pb2_grpc


async def _alert_media_key(target: str, deployment_id: str) -> bytes | None:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = keys_pb2_grpc.DataKeysStub(channel)
        try:
            reply = await stub.GetDataKey(
                keys_pb2.GetDataKeyRequest(deployment_id=deployment_id, data_class="alert_media"), timeout=5
            )
        except grpc.aio.AioRpcError:
            return None  # the deployments service hands out keys only for deployments it knows
    return bytes(reply.key)


async def publish_face_matched(
    *,
    bootstrap: str,
    data_dir: Path,
    deployments_target: str,
    deployment_id: str,
    crop: bytes,
    score: float = 0.83,
    track_id: str | None = None,
) -> tuple[EventMessage, bool]:
    """Returns the message and whether the crop could be sealed (False: no key for this deployment)."""
    crop_key = blob_key(DataClass.ALERT_MEDIA, deployment_id, new_blob_id())
    key = await _alert_media_key(deployments_target, deployment_id)
    if key is not None:
        await FileBlobStore(data_dir / "blobs").put(crop_key, seal(key, crop, crop_key.encode()))
    now = datetime.now(UTC)
    message = EventMessage(
        event_id=uuid.uuid4(), stream_id=track_id or uuid.uuid4().hex, stream_type="sighting", version=1,
        position=1, event_type="FaceMatched", schema_version=1,
        data={
            "deployment_id": deployment_id, "camera_id": "cam-concourse-1",
            "track_id": track_id or uuid.uuid4().hex, "captured_at": now.isoformat(), "score": score,
            "threshold": 0.6, "watchlist_id": "wl-e2e", "entry_id": "entry-e2e",
            "crop_blob_key": crop_key, "model_version": "e2e-seed", "quality": 0.9,
        },
        metadata={"actor": "inference", "role": "system"},
        occurred_at=now, recorded_at=now, source="inference",
    )  # fmt: skip
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            "lfr.inference.events.v1",
            message.to_bytes(),
            key=deployment_id.encode(),
            headers=message.headers(),
        )
    finally:
        await producer.stop()
    return message, key is not None


def publish(**kwargs: object) -> tuple[EventMessage, bool]:
    """From synchronous code, even a thread that runs an event loop (Playwright's sync API does)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, publish_face_matched(**kwargs)).result()  # type: ignore[arg-type]
