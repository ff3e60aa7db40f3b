"""Separate pods share no disk: with LFR_BLOBS__URL=s3://..., a crop inference sealed into the bucket is
what the alerts service serves to an operator.

S3 is a cloud service that cannot run here: moto's S3 emulator (tests/fixtures/s3.py) stands in for it,
over real HTTP.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from lfr_alerts.app.handlers import alert_id_for
from lfr_platform.blobs import blob_key, new_blob_id, open_blob_store
from lfr_platform.blobs.s3 import S3BlobStore
from lfr_platform.crypto import DataClass, seal
from lfr_platform.settings import ServiceSettings

from tests.fixtures.s3 import s3_settings
from tests.integration.alerts._env import face_matched, running_alerts


async def test_alerts_serves_a_crop_another_pod_wrote_to_the_bucket(
    tmp_path: Path, face_images_dir: Path, s3_endpoint: str, s3_bucket: str
) -> None:
    blobs = s3_settings(s3_endpoint, s3_bucket)
    face = (face_images_dir / "obama.jpg").read_bytes()
    async with running_alerts(tmp_path / "alerts-pod", blobs=blobs) as env:
        # The inference pod: its own data directory, the same bucket.
        inference_store = open_blob_store(ServiceSettings(data_dir=tmp_path / "inference-pod", blobs=blobs))
        assert isinstance(inference_store, S3BlobStore)
        await env.ring.ensure_key("dep-1", DataClass.ALERT_MEDIA)
        key = blob_key(DataClass.ALERT_MEDIA, "dep-1", new_blob_id())
        data_key = await env.ring.data_key("dep-1", DataClass.ALERT_MEDIA)
        await inference_store.put(key, seal(data_key, face, key.encode()))

        message = face_matched(crop_blob_key=key)
        await env.deliver(message)
        async with env.client("operator") as client:
            response = await client.get(f"/api/v1/alerts/{alert_id_for(message.event_id)}/crop")
        assert response.status_code == 200 and response.content == face
    assert not await asyncio.to_thread(lambda: list(tmp_path.rglob("blobs")))  # no pod wrote to its disk
