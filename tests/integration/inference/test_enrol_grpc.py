"""`lfr.inference.v1.FaceEnrolment/Enrol` over a real gRPC server with the real models: one good face
gives a template; no face, two faces, a tiny face, a blurred face and a non-image are refused with a
reason and a human message."""

from __future__ import annotations

from collections.abc import AsyncIterator

import cv2
import grpc
import numpy as np
import pytest
from lfr_inference.app.enrolment import ENROL_DETECTOR, ENROL_QUALITY, Enroller
from lfr_inference.entrypoints.grpc.enrolment import enrolment_registrar
from lfr_inference.vision.backends import OnnxRuntimeBackend
from lfr_inference.vision.embedder import MODEL_VERSION
from lfr_inference.vision.pipeline import FacePipeline
from lfr_proto.lfr.inference.v1 import enrolment_pb2, enrolment_pb2_grpc

from tests.fixtures.faces import head_of
from tests.fixtures.grpc_peers import serve_grpc

from ._service_harness import compose, jpeg_of


@pytest.fixture(scope="module")
def backend() -> OnnxRuntimeBackend:
    return OnnxRuntimeBackend()


@pytest.fixture
async def enrol(backend) -> AsyncIterator[enrolment_pb2_grpc.FaceEnrolmentStub]:
    enroller = Enroller(FacePipeline(backend, ENROL_DETECTOR, ENROL_QUALITY), MODEL_VERSION)
    server = await serve_grpc(enrolment_registrar(enroller))
    channel = grpc.aio.insecure_channel(server.target)
    try:
        yield enrolment_pb2_grpc.FaceEnrolmentStub(channel)
    finally:
        await channel.close()
        await server.stop()


async def _enrol(stub, image: bytes) -> enrolment_pb2.EnrolResponse:
    return await stub.Enrol(enrolment_pb2.EnrolRequest(image=image, deployment_id="dep-1", request_id="r-1"))


async def test_one_good_face_gives_a_unit_template(enrol, face_images_dir):
    reply = await _enrol(enrol, (face_images_dir / "obama.jpg").read_bytes())
    assert reply.WhichOneof("outcome") == "template"
    template = reply.template
    assert len(template.embedding) == 128
    assert np.linalg.norm(np.asarray(template.embedding)) == pytest.approx(1.0, abs=1e-4)
    assert template.model_version == MODEL_VERSION and 0 < template.quality <= 1


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("no_face", "no_face"),
        ("two_faces", "several_faces"),
        ("tiny_face", "too_small"),
        ("blurred_face", "too_blurred"),
        ("not_an_image", "unreadable_image"),
    ],
)
async def test_refusals_say_why(enrol, face_images_dir, case, reason):
    obama, biden = head_of(face_images_dir, "obama2.jpg", 300), head_of(face_images_dir, "biden.jpg", 300)
    images = {
        "no_face": lambda: jpeg_of(compose([])),
        "two_faces": lambda: jpeg_of(compose([(obama, (20, 100)), (biden, (340, 100))])),
        "tiny_face": lambda: jpeg_of(compose([(head_of(face_images_dir, "obama2.jpg", 90), (300, 200))])),
        "blurred_face": lambda: jpeg_of(cv2.GaussianBlur(compose([(obama, (200, 100))]), (0, 0), 5)),
        "not_an_image": lambda: b"GIF89a not really a photograph",
    }
    reply = await _enrol(enrol, images[case]())
    assert reply.WhichOneof("outcome") == "refusal"
    assert reply.refusal.reason == reason
    assert len(reply.refusal.message) > 10
