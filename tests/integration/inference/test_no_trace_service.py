"""The "no trace" bar, on real components: frames sealed as ingest seals them go through a real tansu
broker into the running inference pieces. A person on the watchlist walking past (10 frames) raises
exactly one FaceMatched whose crop decrypts; people not on the watchlist, and every frame of a halted
deployment, leave nothing durable behind: no crop, template or landmark in the database (every table,
and the raw SQLite files), the blob store, the data directory, or any Kafka topic but the frames topic.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
from lfr_inference.app.recognition import decode_frame
from lfr_inference.vision.pipeline import FacePipeline
from lfr_platform.blobs import FileBlobStore
from lfr_platform.crypto import open_
from lfr_platform.messaging import EventMessage

from tests.fixtures.faces import head_of

from ._service_harness import compose, enrol_into_gallery, start_harness, wait_until

LIVE, HALTED = "dep-live", "dep-halted"
JPEG_MAGIC, PNG_MAGIC = b"\xff\xd8\xff", b"\x89PNG"
CATALOGUE_FACE_MATCHED = {
    "deployment_id",
    "camera_id",
    "track_id",
    "captured_at",
    "score",
    "threshold",
    "watchlist_id",
    "entry_id",
    "crop_blob_key",
    "model_version",
    "quality",
}


def unit_vectors_in(data: bytes, dim: int = 128) -> int:
    """How many windows of `dim` consecutive float32 or float64 values form a unit vector (an
    L2-normalised embedding, however it was stored): 0 means no embedding is in these bytes."""
    found = 0
    with np.errstate(all="ignore"):  # arbitrary bytes decode to inf/nan; they are masked out below
        found = _unit_vectors(data, dim)
    return found


def _unit_vectors(data: bytes, dim: int) -> int:
    found = 0
    for dtype in (np.float32, np.float64):
        size = np.dtype(dtype).itemsize
        for offset in range(size):
            usable = (len(data) - offset) // size
            if usable < dim:
                continue
            values = np.frombuffer(data, dtype=dtype, count=usable, offset=offset).astype(np.float64)
            plausible = np.isfinite(values) & (np.abs(values) <= 1.0)
            squares = np.where(plausible, values * values, 4.0)  # an implausible value spoils its windows
            sums = np.convolve(squares, np.ones(dim), mode="valid")
            nonzero = np.convolve(
                (np.abs(np.where(plausible, values, 0)) > 1e-4).astype(float), np.ones(dim), mode="valid"
            )
            found += int(np.count_nonzero((np.abs(sums - 1.0) < 1e-3) & (nonzero > dim // 2)))
    return found


def float_lists_in(value: object, path: str = "") -> list[str]:
    """JSON paths holding lists of numbers (a template or landmarks would be one)."""
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in float_lists_in(v, f"{path}.{k}")]
    if isinstance(value, list):
        if len(value) >= 4 and all(isinstance(v, int | float) for v in value):
            return [path]
        return [p for i, v in enumerate(value) for p in float_lists_in(v, f"{path}[{i}]")]
    return []


def assert_nothing_biometric(where: str, data: bytes) -> None:
    assert JPEG_MAGIC not in data, f"JPEG bytes in {where}"
    assert PNG_MAGIC not in data, f"PNG bytes in {where}"
    assert unit_vectors_in(data) == 0, f"an embedding-like vector in {where}"


async def test_only_the_watchlist_face_leaves_a_trace(
    tmp_path, kafka_settings, topic_prefix, face_images_dir
):
    harness = await start_harness(tmp_path, kafka_settings, topic_prefix)
    try:
        enrolment = (face_images_dir / "obama.jpg").read_bytes()
        await enrol_into_gallery(harness, LIVE, "entry-obama", enrolment)
        await enrol_into_gallery(harness, HALTED, "entry-obama", enrolment)
        await harness.start_deployment(LIVE)
        await harness.start_deployment(HALTED)
        await harness.feed.send(HALTED, "DeploymentHalted", {"reason": "crowd too dense"})
        service = harness.service
        await wait_until(
            lambda: service.galleries.get(LIVE) is not None and service.deployments.is_live(LIVE),
            what="the live deployment and its gallery",
        )
        await wait_until(
            lambda: (s := service.deployments.get(HALTED)) is not None and s.last_event == "DeploymentHalted",
            what="the halt",
        )
        assert service.galleries.get(HALTED) is None

        obama, biden = head_of(face_images_dir, "obama2.jpg", 180), head_of(face_images_dir, "biden.jpg", 180)
        walk = [
            compose([(obama, (20 + 25 * i, 100)), (biden, (470 - 3 * i, 150))], seed=i) for i in range(10)
        ]
        strangers = [compose([(biden, (60 + 40 * i, 120))], seed=50 + i) for i in range(5)]
        for seq, frame in enumerate(walk):
            await harness.send_frame(LIVE, "cam-1", seq, frame)
        for seq, frame in enumerate(strangers):
            await harness.send_frame(LIVE, "cam-2", seq, frame)
        for seq in range(5):  # the watchlist face itself, but the deployment is halted
            await harness.send_frame(HALTED, "cam-9", seq, walk[seq])

        totals = service.recognition.totals
        await wait_until(
            lambda: (
                LIVE in totals
                and totals[LIVE].frames_processed == 15
                and HALTED in totals
                and totals[HALTED].frames_dropped == 5
            ),
            what="all frames",
        )
        await service.recognition.flush_tallies()
        stored = await service.kit.db.reader().read_all()
        events = await harness.events(until=lambda messages: len(messages) >= len(stored))

        matches = [e for e in events if e.event_type == "FaceMatched"]
        tallies = {
            (e.data["deployment_id"], e.data["camera_id"]): e.data
            for e in events
            if e.event_type == "FacesProcessedTallied"
        }
        # (c) one walk-past = one track = one match, with the crop of the first crossing
        assert len(matches) == 1, [m.data for m in matches]
        match = matches[0].data
        assert set(match) == CATALOGUE_FACE_MATCHED
        assert (match["deployment_id"], match["camera_id"], match["entry_id"]) == (
            LIVE,
            "cam-1",
            "entry-obama",
        )
        assert match["score"] >= match["threshold"] == 0.6
        assert matches[0].stream_id == match["track_id"] and matches[0].stream_type == "sighting"
        walk_tally = tallies[(LIVE, "cam-1")]
        assert walk_tally["frames"] == 10 and walk_tally["matches"] == 1
        assert walk_tally["suppressed"] >= 5  # later frames of the same track crossed again: no new alert
        stranger_tally = tallies[(LIVE, "cam-2")]
        assert stranger_tally["frames"] == 5 and stranger_tally["faces_compared"] == 5
        assert stranger_tally["matches"] == 0
        # (b) the halted deployment: every frame counted as dropped, none processed, nothing matched
        halted_tally = tallies[(HALTED, "cam-9")]
        assert halted_tally["frames"] == 0 and halted_tally["faces_detected"] == 0
        assert halted_tally["frames_dropped"] == 5 and halted_tally["dropped_reasons"] == {
            "not_processing": 5
        }

        # The crop: sealed under the live deployment's alert_media key, bound to its blob key, and Obama.
        blobs = FileBlobStore(harness.data_dir / "blobs")
        keys = [key async for key in blobs.list("alert_media/")]
        assert keys == [match["crop_blob_key"]]
        sealed = await blobs.get(keys[0])
        assert JPEG_MAGIC not in sealed
        alert_key = await harness.ring.data_key(LIVE, "alert_media")
        crop = open_(alert_key, sealed, keys[0].encode())
        assert crop.startswith(JPEG_MAGIC)
        checker = FacePipeline(service.backend)
        (crop_faces,) = await checker.process([decode_frame(crop, None)])
        (reference,) = await checker.process([decode_frame(enrolment, None)])
        assert float(crop_faces.faces[0].embedding @ reference.faces[0].embedding) > 0.93

        # No trace: every table of the database, row by row.
        db_path = harness.data_dir / "inference.db"
        with sqlite3.connect(db_path) as connection:
            tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            assert "inference_deployment_state" in tables
            for table in tables:
                for row in connection.execute(f'SELECT * FROM "{table}"'):  # noqa: S608 (names from sqlite)
                    for value in row:
                        raw = value if isinstance(value, bytes) else str(value).encode()
                        assert_nothing_biometric(f"table {table}", raw)
                        if isinstance(value, str) and value.startswith(("[", "{")):
                            assert float_lists_in(json.loads(value)) == [], f"number list in {table}"
        # ... every file of the data directory (SQLite pages, journal, blobs), raw.
        files = [p for p in harness.data_dir.rglob("*") if p.is_file()]
        blob_files = [p for p in files if "blobs" in p.parts]
        assert [p.relative_to(harness.data_dir / "blobs").as_posix() for p in blob_files] == keys
        for path in files:
            assert_nothing_biometric(str(path), path.read_bytes())
        # ... every Kafka topic of this run except the frames topics.
        topics = [
            t for t in await _topics(harness) if t.startswith(topic_prefix) and ".ingest.frames." not in t
        ]
        assert harness.settings.events_topic in topics
        for topic in topics:
            for record in await harness.read_topic(topic):
                for name, value in [("value", record.value or b""), *(record.headers or ())]:
                    assert_nothing_biometric(f"{topic} {name}", value)
                if topic == harness.settings.events_topic:
                    assert float_lists_in(EventMessage.from_bytes(record.value).data) == []
    finally:
        await harness.stop()


async def _topics(harness) -> list[str]:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(**harness.kafka.admin_kwargs())
    await admin.start()
    try:
        return list(await admin.list_topics())
    finally:
        await admin.close()


def test_the_scan_finds_an_embedding_and_a_jpeg(tmp_path: Path) -> None:
    """The scanner itself can fail: a stored embedding (float32 or float64, at any offset) is found."""
    vector = np.random.default_rng(1).normal(size=128)
    vector /= np.linalg.norm(vector)
    for blob in (b"xyz" + vector.astype(np.float32).tobytes() + b"abc", b"q" + vector.tobytes()):
        assert unit_vectors_in(blob) >= 1
    assert unit_vectors_in(np.random.default_rng(2).bytes(4096)) == 0
    assert float_lists_in({"a": {"t": [0.1, 0.2, 0.3, 0.4]}}) == [".a.t"]
