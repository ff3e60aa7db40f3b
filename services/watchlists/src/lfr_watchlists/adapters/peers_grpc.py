"""gRPC clients of the peers the watchlists service depends on: the inference service's Enrol and the
deployments service's DataKeys (each key cached for at most 60 s). Images and keys are never logged."""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc
from lfr_platform.crypto import KeyDestroyed
from lfr_platform.errors import LfrError, NotFound
from lfr_platform.grpc_security import LazyChannel
from lfr_platform.http import current_correlation_id
from lfr_proto.lfr.inference.v1 import enrolment_pb2, enrolment_pb2_grpc
from lfr_proto.lfr.keys.v1 import keys_pb2, keys_pb2_grpc

from lfr_watchlists.app.ports import EnrolRefusal, EnrolResult

MAX_KEY_CACHE_SECONDS = 60.0


class PeerUnavailable(LfrError):
    code = "peer_unavailable"
    http_status = 503


def open_channel(target: str, credentials: grpc.ChannelCredentials | None = None) -> LazyChannel:
    """Opened on first use, in the service's own event loop (see LazyChannel)."""
    options = [("grpc.max_send_message_length", 32 * 1024 * 1024)]
    if credentials is not None:
        return LazyChannel(lambda: grpc.aio.secure_channel(target, credentials, options=options))
    return LazyChannel(lambda: grpc.aio.insecure_channel(target, options=options))


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


class GrpcDataKeys:
    """`lfr.keys.v1.DataKeys/GetDataKey`; a key is reused for at most `ttl_seconds` (capped at 60 s), so a
    key retention destroys stops working here within a minute. Failures are never cached."""

    def __init__(
        self,
        channel: grpc.aio.Channel | LazyChannel,
        ttl_seconds: float = 30.0,
        deadline_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._channel = channel
        self._stub = keys_pb2_grpc.DataKeysStub(channel)
        self._ttl = min(ttl_seconds, MAX_KEY_CACHE_SECONDS)
        self._deadline = deadline_seconds
        self._now = monotonic
        self._cache: dict[tuple[str, str], tuple[float, bytes]] = {}

    async def data_key(self, deployment_id: str, data_class: str) -> bytes:
        slot = (deployment_id, data_class)
        cached = self._cache.get(slot)
        if cached is not None and self._now() - cached[0] < self._ttl:
            return cached[1]
        self._cache.pop(slot, None)
        request = keys_pb2.GetDataKeyRequest(deployment_id=deployment_id, data_class=data_class)
        try:
            reply = await self._stub.GetDataKey(request, timeout=self._deadline)
        except grpc.aio.AioRpcError as error:
            raise _translate(error, deployment_id, data_class) from None
        key = bytes(reply.key)
        self._cache[slot] = (self._now(), key)
        return key

    async def close(self) -> None:
        self._cache.clear()
        await self._channel.close()


def _translate(error: grpc.aio.AioRpcError, deployment_id: str, data_class: str) -> LfrError:
    what = f"the {data_class} key of deployment {deployment_id}"
    if error.code() == grpc.StatusCode.NOT_FOUND:
        return NotFound(f"{what} does not exist", code="key_not_found")
    if error.code() == grpc.StatusCode.FAILED_PRECONDITION:
        return KeyDestroyed(f"{what} was destroyed: the data it protected is gone for good")
    return PeerUnavailable(
        f"the deployments service did not hand out {what} ({error.code().name}); try again shortly",
        code="keys_unavailable",
    )
