"""`lfr.keys.v1.DataKeys/DestroyDataKey` on the deployments service, which owns the keys."""

from __future__ import annotations

import grpc
from lfr_platform.grpc_security import LazyChannel
from lfr_proto.lfr.keys.v1 import keys_pb2, keys_pb2_grpc

RETENTION_ACTOR = "retention"
RETENTION_ROLE = "system"


class KeyServiceUnavailable(RuntimeError):
    pass


class GrpcKeyShredder:
    def __init__(self, channel: grpc.aio.Channel | LazyChannel, deadline_seconds: float = 10.0) -> None:
        self._channel = channel
        self._stub = keys_pb2_grpc.DataKeysStub(channel)
        self._deadline = deadline_seconds

    @classmethod
    def connect(cls, target: str, credentials: grpc.ChannelCredentials | None = None) -> GrpcKeyShredder:
        # Opened on first use, in the service's own event loop (see LazyChannel).
        channel = LazyChannel(
            lambda: (
                grpc.aio.secure_channel(target, credentials)
                if credentials
                else grpc.aio.insecure_channel(target)
            )
        )
        return cls(channel)

    async def destroy(self, deployment_id: str, data_class: str, *, reason: str) -> bool:
        request = keys_pb2.DestroyDataKeyRequest(
            deployment_id=deployment_id, data_class=data_class, actor=RETENTION_ACTOR,
            role=RETENTION_ROLE, reason=reason,
        )  # fmt: skip
        try:
            reply = await self._stub.DestroyDataKey(request, timeout=self._deadline)
        except grpc.aio.AioRpcError as error:
            raise KeyServiceUnavailable(
                f"DestroyDataKey({deployment_id}, {data_class}) failed: {error.code().name}"
            ) from None
        return bool(reply.destroyed)

    async def close(self) -> None:
        await self._channel.close()
