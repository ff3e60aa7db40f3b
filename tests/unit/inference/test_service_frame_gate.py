"""The frame gate of `Recognition`: frames of a deployment that is not live (never started, halted,
window over by the injected clock), stale, malformed, undecryptable or without a key are counted and
dropped without ever reaching the networks; halting drops what is queued. Fakes: the key service (a port)
and the network backend, which fails the test if called (nothing here may run a model)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from lfr_inference.adapters.frame_wire import frame_aad
from lfr_inference.app.calibrations import PROVISIONAL, Calibrations
from lfr_inference.app.deployments import DeploymentRegistry
from lfr_inference.app.events_out import EventWriter
from lfr_inference.app.galleries import GalleryRegistry
from lfr_inference.app.ports import DataKey, GallerySnapshot
from lfr_inference.app.recognition import Recognition, RecognitionConfig
from lfr_inference.domain.deployment_state import DeploymentState
from lfr_inference.vision.pipeline import FacePipeline
from lfr_platform.blobs import FileBlobStore
from lfr_platform.clock import ManualClock
from lfr_platform.crypto import KeyNotFound, new_key, seal
from lfr_platform.eventstore import InMemoryEventDatabase

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


class FakeKeys:
    def __init__(self) -> None:
        self.keys = {("dep-1", "frames"): DataKey("k1", new_key())}

    async def get(self, deployment_id: str, data_class: str) -> DataKey:
        try:
            return self.keys[(deployment_id, data_class)]
        except KeyError:
            raise KeyNotFound("gone") from None


class NoGallery:
    async def fetch(self, deployment_id: str) -> GallerySnapshot:
        raise AssertionError("not needed")


class ForbiddenBackend:
    name = "forbidden"

    async def infer(self, model, inputs, outputs):  # noqa: ANN001
        raise AssertionError("a dropped frame reached the networks")

    async def close(self) -> None:
        pass


@pytest.fixture
def parts(tmp_path):
    clock = ManualClock(NOW)
    deployments = DeploymentRegistry(clock)
    deployments.put(
        DeploymentState(
            "dep-1",
            processing=True,
            window_start=NOW - timedelta(hours=1),
            window_end=NOW + timedelta(minutes=5),
        )
    )
    keys = FakeKeys()
    recognition = Recognition(
        config=RecognitionConfig(
            model_version="m", max_frame_age_seconds=5.0, frame_queue_size=3, max_backlog_per_camera=2
        ),
        pipeline=FacePipeline(ForbiddenBackend()),
        deployments=deployments,
        galleries=GalleryRegistry(NoGallery(), "m"),
        data_keys=keys,
        blobs=FileBlobStore(tmp_path / "blobs"),
        events=EventWriter(InMemoryEventDatabase()),
        calibrations=Calibrations.single(PROVISIONAL),
        clock=clock,
    )
    return SimpleNamespace(clock=clock, deployments=deployments, keys=keys, recognition=recognition)


def record(deployment_id="dep-1", camera_id="cam-1", capture=NOW, key=None, body=b"\xff\xd8\xffjpeg"):
    capture_ns = int(capture.timestamp() * 1e9)
    headers = [
        ("capture_ns", str(capture_ns).encode()),
        ("deployment_id", deployment_id.encode()),
        ("camera_id", camera_id.encode()),
        ("frame_seq", b"1"),
        ("key_id", b"k1"),
        ("roi", b"[[0,0],[1,0],[1,1],[0,1]]"),
    ]
    value = seal(key, body, frame_aad(camera_id, deployment_id, capture_ns)) if key else b"\x01" + bytes(40)
    return SimpleNamespace(headers=headers, value=value, topic="frames", partition=0, offset=0)


def dropped(parts, deployment_id="dep-1"):
    return parts.recognition.totals[deployment_id].dropped_reasons


async def test_frames_of_unknown_or_halted_deployments_are_dropped_at_intake(parts):
    await parts.recognition.accept(record(deployment_id="dep-unknown"))
    parts.deployments.put(
        DeploymentState("dep-2", processing=False, window_start=NOW, window_end=NOW + timedelta(hours=1))
    )
    await parts.recognition.accept(record(deployment_id="dep-2"))
    assert parts.recognition.queued == 0
    assert dropped(parts, "dep-unknown") == {"unknown_deployment": 1}
    assert dropped(parts, "dep-2") == {"not_processing": 1}


async def test_the_window_end_stops_processing_without_any_event(parts):
    await parts.recognition.accept(record())
    assert parts.recognition.queued == 1
    parts.clock.advance(timedelta(minutes=6))  # past the window's end while the frame waited
    await parts.recognition.drain()
    assert dropped(parts) == {"after_window": 1}
    await parts.recognition.accept(record(capture=parts.clock.now()))
    assert dropped(parts) == {"after_window": 2} and parts.recognition.queued == 0


async def test_stale_undecryptable_and_keyless_frames_are_dropped(parts):
    parts.recognition.galleries._galleries["dep-1"] = SimpleNamespace(gallery=None)  # "loaded"
    await parts.recognition.accept(
        record(capture=NOW - timedelta(seconds=30), key=parts.keys.keys[("dep-1", "frames")].key)
    )
    await parts.recognition.accept(record(key=new_key()))  # sealed under some other key
    await parts.recognition.drain()
    del parts.keys.keys[("dep-1", "frames")]  # destroyed
    await parts.recognition.accept(record(key=new_key()))
    await parts.recognition.drain()
    assert dropped(parts) == {"stale": 1, "undecryptable": 1, "key_unavailable": 1}


async def test_no_gallery_yet_means_no_processing(parts):
    await parts.recognition.accept(record(key=parts.keys.keys[("dep-1", "frames")].key))
    await parts.recognition.drain()
    assert dropped(parts) == {"gallery_not_loaded": 1}


async def test_malformed_headers_are_counted_and_overload_keeps_each_cameras_newest(parts):
    await parts.recognition.accept(SimpleNamespace(headers=[("camera_id", b"c")], value=b"x"))
    assert parts.recognition.malformed == 1
    for second in range(5):  # processing lags behind one camera: its newest 2 frames wait, older go
        await parts.recognition.accept(record(capture=NOW + timedelta(seconds=second)))
    queued = [item.header.captured_at_ns for item in parts.recognition._queue]
    assert queued == [int((NOW + timedelta(seconds=s)).timestamp() * 1e9) for s in (3, 4)]
    assert dropped(parts) == {"overload": 3}
    await parts.recognition.accept(record(camera_id="cam-2"))
    await parts.recognition.accept(record(camera_id="cam-3"))  # the whole queue is bounded (3) too
    assert parts.recognition.queued == 3 and dropped(parts) == {"overload": 4}
    parts.recognition.forget_deployment("dep-1")  # halted: queued frames go too
    assert parts.recognition.queued == 0 and dropped(parts) == {"overload": 4, "not_processing": 3}


async def test_tallies_are_counts_only_and_recorded_per_camera(parts):
    await parts.recognition.accept(record(deployment_id="dep-x", camera_id="cam-7"))
    assert await parts.recognition.flush_tallies() == 1
    events = await parts.recognition.events._db.reader().read_all()
    (event,) = events
    assert event.stream_type == "tally" and event.event_type == "FacesProcessedTallied"
    assert event.data["frames_dropped"] == 1 and event.data["dropped_reasons"] == {"unknown_deployment": 1}
    assert all(not isinstance(v, list) for v in event.data.values())
    assert await parts.recognition.flush_tallies() == 0  # nothing new: nothing recorded
