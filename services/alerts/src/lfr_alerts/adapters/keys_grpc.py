"""The deployments service's `lfr.keys.v1.DataKeys` over gRPC. Keys are never logged nor cached: a key
destroyed by retention must stop opening crops at once, and one fetch per media request is cheap."""

from __future__ import annotations

import grpc
from lfr_platform.crypto import KeyDestroyed
from lfr_platform.errors import NotFound
from lfr_proto.lfr.keys.v1 import keys_pb2, keys_pb2_grpc

from lfr_alerts.app.errors import ServiceUnavailable


def open_channel(target: str, credentials: grpc.ChannelCredentials | None = None) -> grpc.aio.Channel:
    if credentials is not None:
        return grpc.aio.secure_channel(target, credentials)
    return grpc.aio.insecure_channel(target)


class GrpcDataKeys:
    """The channel opens on first use: a grpc.aio channel belongs to the event loop it was created in,
    and the composition root runs before the service's loop starts."""

    def __init__(
        self, target: str, credentials: grpc.ChannelCredentials | None = None, deadline_seconds: float = 5.0
    ) -> None:
        self._target = target
        self._credentials = credentials
        self._channel: grpc.aio.Channel | None = None
        self._stub: keys_pb2_grpc.DataKeysStub | None = None
        self._deadline = deadline_seconds

    def _client(self) -> keys_pb2_grpc.DataKeysStub:
        if self._stub is None:
            self._channel = open_channel(self._target, self._credentials)
            self._stub = keys_pb2_grpc.DataKeysStub(self._channel)
        return self._stub

    async def data_key(self, deployment_id: str, data_class: str) -> bytes:
        request = keys_pb2.GetDataKeyRequest(deployment_id=deployment_id, data_class=data_class)
        try:
            reply = await self._client().GetDataKey(request, timeout=self._deadline)
        except grpc.aio.AioRpcError as error:
            raise _translate(error, deployment_id, data_class) from None
        return bytes(reply.key)

    async def close(self) -> None:
        channel, self._channel, self._stub = self._channel, None, None
        if channel is not None:
            await channel.close()


def _translate(error: grpc.aio.AioRpcError, deployment_id: str, data_class: str) -> Exception:
    code = error.code()
    what = f"the {data_class} key of deployment {deployment_id}"
    if code == grpc.StatusCode.NOT_FOUND:
        return NotFound(f"{what} does not exist", code="key_not_found")
    if code in (grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.PERMISSION_DENIED) and (
        "destroy" in (error.details() or "").lower() or code == grpc.StatusCode.FAILED_PRECONDITION
    ):
        return KeyDestroyed(f"{what} was destroyed: the data it protected is gone for good")
    return ServiceUnavailable(
        f"the deployments service did not hand out {what} ({code.name}); try again shortly",
        code="keys_unavailable",
    )
