"""`lfr retention scan` finds what it is for: image bytes and templates in any database column, readable
blobs past policy, biometric payloads in Kafka messages and a frames topic that keeps data too long."""

from __future__ import annotations

import base64
import json
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from lfr_platform.blobs import FileBlobStore, blob_key, new_blob_id, open_blob_store
from lfr_platform.crypto import DataClass, KeyRing, SqlWrappedKeyStore, data_keys_metadata
from lfr_platform.messaging.settings import KafkaSettings
from lfr_platform.settings import ServiceSettings
from lfr_retention.adapters.scan import ScanReport, run_scan, scan_kafka
from lfr_retention.domain.policy import RetentionPolicy
from sqlalchemy.ext.asyncio import create_async_engine

from tests.fixtures.s3 import s3_settings

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def face_jpeg(face_images_dir: Path) -> bytes:
    return sorted(face_images_dir.glob("*.jpg"))[0].read_bytes()


async def test_biometric_values_in_any_database_column_are_reported(
    tmp_path: Path, face_images_dir: Path
) -> None:
    jpeg = face_jpeg(face_images_dir)
    with sqlite3.connect(tmp_path / "inference.db") as db:  # e.g. a debugging table someone added
        db.execute("CREATE TABLE debug_faces (id TEXT, crop BLOB, meta TEXT, note TEXT)")
        db.execute(
            "INSERT INTO debug_faces VALUES ('a', ?, ?, 'fine')", (jpeg, json.dumps({"emb": [0.01] * 512}))
        )
        db.execute(
            "INSERT INTO debug_faces VALUES ('b', NULL, ?, 'fine')", (base64.b64encode(jpeg).decode(),)
        )
        db.execute("INSERT INTO debug_faces VALUES ('c', NULL, '{\"score\": 0.7}', 'fine')")
    report = await run_scan(data_dir=tmp_path, policy=RetentionPolicy(), at=NOW)
    found = sorted((a["location"], a["label"]) for a in report.artefacts)
    assert found == [
        ("inference.debug_faces.crop", "jpeg_bytes"),
        ("inference.debug_faces.meta", "base64_jpeg"),
        ("inference.debug_faces.meta", "float_vector_512"),
    ]
    assert report.checked["rows"] == 3 and not report.ok
    assert jpeg.hex()[:40] not in json.dumps(report.as_dict())  # the report never carries the value


async def test_readable_blobs_past_policy_are_reported_and_shredded_ones_are_not(
    tmp_path: Path, face_images_dir: Path
) -> None:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'deployments.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(data_keys_metadata.create_all)
    ring = KeyRing(bytes(range(32)), SqlWrappedKeyStore(engine))
    blobs = FileBlobStore(tmp_path / "blobs")
    keys: dict[str, str] = {}
    for deployment in ("dep-live", "dep-shredded"):
        for data_class in (DataClass.FRAMES, DataClass.ALERT_MEDIA):
            await ring.ensure_key(deployment, data_class)
            key = blob_key(data_class, deployment, new_blob_id())
            await blobs.put(
                key, await ring.seal(deployment, data_class, face_jpeg(face_images_dir), key.encode())
            )
            keys[f"{deployment}/{data_class}"] = key
    await ring.destroy("dep-shredded", DataClass.FRAMES)
    await ring.destroy("dep-shredded", DataClass.ALERT_MEDIA)
    await engine.dispose()

    # Untracked crops count from their file time: not yet past 31 days now, but 32 days on they are.
    now = datetime.now(UTC)
    report = await run_scan(data_dir=tmp_path, policy=RetentionPolicy(), at=now)
    assert [a["location"] for a in report.artefacts] == [keys["dep-live/frames"]]  # frames never in blobs
    assert report.checked["blobs"] == 4 and report.checked["blobs_unreadable"] == 2
    later = await run_scan(data_dir=tmp_path, policy=RetentionPolicy(), at=now + timedelta(days=32))
    assert sorted(a["location"] for a in later.artefacts) == sorted(
        [keys["dep-live/frames"], keys["dep-live/alert_media"]]
    )


async def test_blobs_in_an_s3_bucket_are_scanned_like_a_directory(
    tmp_path: Path, s3_endpoint: str, s3_bucket: str
) -> None:
    """Against moto's S3 emulator (tests/fixtures/s3.py): S3 is a cloud service that cannot run here."""
    settings = ServiceSettings(data_dir=tmp_path, blobs=s3_settings(s3_endpoint, s3_bucket))
    bucket = open_blob_store(settings)
    stale_local = FileBlobStore(tmp_path / "blobs")  # a stale local directory must not pass for the store
    await stale_local.put(blob_key(DataClass.ALERT_MEDIA, "dep-local", new_blob_id()), b"sealed")
    frames = blob_key(DataClass.FRAMES, "dep-1", new_blob_id())
    crop = blob_key(DataClass.ALERT_MEDIA, "dep-1", new_blob_id())
    await bucket.put(frames, b"sealed")
    await bucket.put(crop, b"sealed")

    now = datetime.now(UTC)  # the bucket's own write times decide an untracked crop's age
    report = await run_scan(data_dir=tmp_path, policy=RetentionPolicy(), at=now, blobs=bucket)
    assert [a["location"] for a in report.artefacts] == [frames]
    assert report.checked["blobs"] == 2
    later = await run_scan(
        data_dir=tmp_path, policy=RetentionPolicy(), at=now + timedelta(days=32), blobs=bucket
    )
    assert sorted(a["location"] for a in later.artefacts) == sorted([frames, crop])


async def test_an_unreachable_blob_store_is_reported_as_an_incomplete_scan(
    tmp_path: Path, s3_endpoint: str
) -> None:
    settings = ServiceSettings(data_dir=tmp_path, blobs=s3_settings(s3_endpoint, "no-such-bucket"))
    report = await run_scan(
        data_dir=tmp_path, policy=RetentionPolicy(), at=NOW, blobs=open_blob_store(settings)
    )
    [artefact] = report.artefacts
    assert (artefact["kind"], artefact["label"]) == ("scan_incomplete", "blob_store_unreachable")
    assert "does not exist" in artefact["error"] and not report.ok


@pytest.mark.kafka
async def test_kafka_messages_and_the_frames_topic_config_are_checked(
    kafka_settings: KafkaSettings, face_images_dir: Path
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}."
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_settings.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([
            NewTopic(f"{prefix}lfr.ingest.frames.v1.s0", 1, 1, topic_configs={"retention.ms": "40000"}),
            NewTopic(f"{prefix}lfr.ingest.frames.v1.s1", 1, 1, topic_configs={"retention.ms": "3600000"}),
            NewTopic(f"{prefix}lfr.alerts.events.v1", 1, 1),
        ])  # fmt: skip
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_settings.bootstrap_servers)
    await producer.start()
    try:
        topic = f"{prefix}lfr.alerts.events.v1"
        clean = {"event_type": "AlertRaised", "data": {"score": 0.7, "crop_blob_key": "alert_media/d/x"}}
        leaked = {
            "event_type": "AlertRaised",
            "data": {"crop": base64.b64encode(face_jpeg(face_images_dir)).decode()},
        }
        await producer.send_and_wait(topic, json.dumps(clean).encode(), key=b"a1")
        await producer.send_and_wait(topic, json.dumps(leaked).encode(), key=b"a2")
    finally:
        await producer.stop()

    report = ScanReport(at=NOW)
    await scan_kafka(kafka_settings.bootstrap_servers, RetentionPolicy(), report, topic_prefix=prefix)
    found = sorted((a["kind"], a["location"], a["label"]) for a in report.artefacts)
    assert found == [
        ("kafka_message", f"{topic}[0]@1", "base64_jpeg"),
        ("topic_config", f"{prefix}lfr.ingest.frames.v1.s1", "frames_retention_too_long"),
    ]
    assert report.checked["messages"] == 2 and report.checked["frames_topics"] == 2
