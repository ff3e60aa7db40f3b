"""`lfr.inference.v1.FaceEnrolment/Enrol` (called by the watchlists service). The image is never logged."""

from __future__ import annotations

import grpc
from lfr_platform.runtime import GrpcRegistrar
from lfr_proto.lfr.inference.v1 import enrolment_pb2, enrolment_pb2_grpc

from lfr_inference.app.enrolment import Enroller, Refusal

SERVICE_NAME = "lfr.inference.v1.FaceEnrolment"


class FaceEnrolmentServicer(enrolment_pb2_grpc.FaceEnrolmentServicer):
    def __init__(self, enroller: Enroller) -> None:
        self._enroller = enroller

    async def Enrol(  # noqa: N802 (gRPC method name)
        self, request: enrolment_pb2.EnrolRequest, context: grpc.aio.ServicerContext
    ) -> enrolment_pb2.EnrolResponse:
        outcome = await self._enroller.enrol(bytes(request.image))
        if isinstance(outcome, Refusal):
            return enrolment_pb2.EnrolResponse(
                refusal=enrolment_pb2.Refusal(reason=outcome.reason, message=outcome.message)
            )
        return enrolment_pb2.EnrolResponse(
            template=enrolment_pb2.Template(
                embedding=outcome.embedding, model_version=outcome.model_version, quality=outcome.quality
            )
        )


def enrolment_registrar(enroller: Enroller) -> GrpcRegistrar:
    def register(server: grpc.aio.Server) -> None:
        enrolment_pb2_grpc.add_FaceEnrolmentServicer_to_server(FaceEnrolmentServicer(enroller), server)

    return register
