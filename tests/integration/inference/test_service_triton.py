"""The service on the Triton path (settings `inference_backend=triton`): a real tritonserver (pytriton,
CPU) serves the models over gRPC; readiness asks Triton for every model; with the shipped calibration
(flip-averaged cosine, as in production) a watchlist face in frames sent through the broker raises one
FaceMatched."""

from __future__ import annotations

import pytest
from lfr_inference.adapters.triton_client import TritonBackend
from lfr_inference.bootstrap import build_backend, models_ready_check
from lfr_inference.settings import InferenceSettings

from tests.fixtures.faces import head_of

from ._service_harness import compose, enrol_into_gallery, start_harness, wait_until

pytestmark = pytest.mark.triton


async def test_matching_through_triton(
    tmp_path, kafka_settings, topic_prefix, face_images_dir, triton_server
):
    settings = InferenceSettings(inference_backend="triton", triton_url=triton_server.url)
    backend = build_backend(settings)
    assert isinstance(backend, TritonBackend)
    assert await models_ready_check(backend).probe()
    harness = await start_harness(
        tmp_path, kafka_settings, topic_prefix, backend=backend, shipped_calibration=True
    )
    try:
        await enrol_into_gallery(
            harness, "dep-t", "entry-obama", (face_images_dir / "obama.jpg").read_bytes()
        )
        await harness.start_deployment("dep-t")
        service = harness.service
        await wait_until(
            lambda: service.galleries.get("dep-t") is not None and service.deployments.is_live("dep-t"),
            what="deployment live with its gallery",
        )
        obama = head_of(face_images_dir, "obama3.jpg", 200)
        for seq in range(3):
            await harness.send_frame(
                "dep-t", "cam-1", seq, compose([(obama, (100 + 20 * seq, 80))], seed=seq)
            )
        totals = service.recognition.totals
        await wait_until(lambda: "dep-t" in totals and totals["dep-t"].frames_processed == 3, what="3 frames")
        stored = await service.kit.db.reader().read_all()
        events = await harness.events(until=lambda messages: len(messages) >= len(stored))
        matches = [e.data for e in events if e.event_type == "FaceMatched"]
        assert len(matches) == 1 and matches[0]["entry_id"] == "entry-obama"
        assert service.recognition.batches >= 1 and service.recognition.pipeline.flip_average
        assert not service.recognition.calibrations.provisional
    finally:
        await harness.stop()


async def test_an_unreachable_triton_is_not_ready():
    backend = TritonBackend("127.0.0.1:9")  # nothing listens on the discard port
    try:
        assert await models_ready_check(backend).probe() is False
    finally:
        await backend.close()
