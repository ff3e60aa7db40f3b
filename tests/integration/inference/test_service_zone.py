"""The zone of recognition travels with each frame (ingest's `roi` header, 0..1 coordinates): inference
blacks out everything outside it before detection, so a face outside the zone is never even found."""

from __future__ import annotations

import pytest
from lfr_inference.app.recognition import decode_frame
from lfr_inference.vision.backends import OnnxRuntimeBackend
from lfr_inference.vision.pipeline import FacePipeline

from tests.fixtures.faces import head_of

from ._service_harness import compose, jpeg_of

LEFT_HALF = ((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0))
RIGHT_HALF = ((0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0))


@pytest.fixture(scope="module")
def pipeline() -> FacePipeline:
    return FacePipeline(OnnxRuntimeBackend())


async def test_faces_outside_the_zone_are_not_detected(pipeline, face_images_dir):
    jpeg = jpeg_of(compose([(head_of(face_images_dir, "biden.jpg", 200), (40, 100))]))  # left half
    whole, inside, outside = await pipeline.process(
        [decode_frame(jpeg, None), decode_frame(jpeg, LEFT_HALF), decode_frame(jpeg, RIGHT_HALF)]
    )
    assert len(whole.faces) == 1 and len(inside.faces) == 1
    assert outside.faces == [] and not outside.rejected


def test_an_unreadable_frame_decodes_to_nothing():
    assert decode_frame(b"\xff\xd8\xff not a jpeg", None) is None
