"""gRPC client of the inference service's Enrol, which the watchlists service depends on (the data keys come
from `lfr_platform.data_keys`). Images are never logged."""

from __future__ import annotations

import grpc
from lfr_platform.errors import LfrError
from lfr_platform.grpc_security import LazyChannel
from lfr_platform.http import current_correlation_id
from lfr_proto.lfr.inference.v1 import enrolment_pb2, enrolment_pb2_grpc

from lfr_watchlists.app.ports import EnrolRefusal, EnrolResult


class PeerUnavailable(LfrError):
    code = "peer_unavailable"
    http_status = 503


class GrpcEnroller:
    """The Enroller port over `lfr.inference.v1.FaceEnrolment/Enrol`."""

    def __init__(self, channel: grpc.aio.Channel | LazyChannel, deadline_seconds: float = 30.0) -> None:
        self._channel = channel
        self._stub = enrolment_pb2_grpc.FaceEnrolmentStub(channel)
        self._deadline = deadline_seconds

    async def enrol(self, image: bytes) -> EnrolResult:
        request = enrolment_pb2.EnrolRequest(image=image, request_id=current_correlation_id() or "")
        try:
            reply = await self._stub.Enrol(request, timeout=self._deadline)
        except grpc.aio.AioRpcError as error:
            raise PeerUnavailable(
                f"the inference service could not enrol the image ({error.code().name}); try again shortly"
            ) from None
        if reply.WhichOneof("outcome") == "refusal":
            try:
                reason = EnrolRefusal(reply.refusal.reason)
            except ValueError:
                raise PeerUnavailable(
                    f"the inference service refused with an unknown reason {reply.refusal.reason!r}"
                ) from None
            return EnrolResult(refusal=reason, message=reply.refusal.message)
        return EnrolResult(
            template=list(reply.template.embedding), model_version=reply.template.model_version
        )

    async def close(self) -> None:
        await self._channel.close()
