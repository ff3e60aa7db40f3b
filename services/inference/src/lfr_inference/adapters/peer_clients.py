"""gRPC clients of the peers inference depends on: the deployments service's DataKeys (cached briefly)
and the watchlists service's Gallery. Keys and templates are never logged."""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc
import numpy as np
from lfr_platform.grpc_security import LazyChannel
from lfr_proto.lfr.keys.v1 import keys_pb2, keys_pb2_grpc
from lfr_proto.lfr.watchlists.v1 import gallery_pb2, gallery_pb2_grpc

from lfr_inference.app.ports import DataKey, GallerySnapshot, GalleryTemplate, KeyUnavailable


def open_channel(target: str, credentials: grpc.ChannelCredentials | None = None) -> LazyChannel:
    """Opened on first use, in the service's own event loop (see LazyChannel)."""
    if credentials is not None:
        return LazyChannel(lambda: grpc.aio.secure_channel(target, credentials))
    return LazyChannel(lambda: grpc.aio.insecure_channel(target))


class GrpcDataKeys:
    """`lfr.keys.v1.DataKeys/GetDataKey`, with each key cached for at most `ttl_seconds` (<= 60 s), so a
    destroyed key stops working here within that time; a failed fetch is never cached."""

    def __init__(
        self,
        channel: grpc.aio.Channel | LazyChannel,
        ttl_seconds: float = 30.0,
        deadline_seconds: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stub = keys_pb2_grpc.DataKeysStub(channel)
        self._channel = channel
        self._ttl = min(ttl_seconds, 60.0)
        self._deadline = deadline_seconds
        self._now = monotonic
        self._cache: dict[tuple[str, str], tuple[float, DataKey]] = {}

    async def get(self, deployment_id: str, data_class: str) -> DataKey:
        slot = (deployment_id, data_class)
        cached = self._cache.get(slot)
        if cached is not None and self._now() - cached[0] < self._ttl:
            return cached[1]
        try:
            reply = await self._stub.GetDataKey(
                keys_pb2.GetDataKeyRequest(deployment_id=deployment_id, data_class=data_class),
                timeout=self._deadline,
            )
        except grpc.aio.AioRpcError as error:
            self._cache.pop(slot, None)
            raise KeyUnavailable(f"{data_class} key of {deployment_id}: {error.code().name}") from None
        key = DataKey(reply.key_id, bytes(reply.key))
        self._cache[slot] = (self._now(), key)
        return key

    def forget(self, deployment_id: str) -> None:
        for slot in [s for s in self._cache if s[0] == deployment_id]:
            del self._cache[slot]

    async def close(self) -> None:
        self._cache.clear()
        await self._channel.close()


class GrpcGallerySource:
    """`lfr.watchlists.v1.Gallery/GetGallery`: the live deployment's frozen watchlist templates."""

    def __init__(self, channel: grpc.aio.Channel | LazyChannel, deadline_seconds: float = 30.0) -> None:
        self._stub = gallery_pb2_grpc.GalleryStub(channel)
        self._channel = channel
        self._deadline = deadline_seconds

    async def fetch(self, deployment_id: str) -> GallerySnapshot:
        reply = await self._stub.GetGallery(
            gallery_pb2.GetGalleryRequest(deployment_id=deployment_id), timeout=self._deadline
        )
        return GallerySnapshot(
            watchlist_id=reply.watchlist_id,
            version=int(reply.version),
            frozen=reply.frozen,
            model_version=reply.model_version,
            templates=[
                GalleryTemplate(e.entry_id, np.asarray(e.template, dtype=np.float32), e.category)
                for e in reply.entries
            ],
        )

    async def close(self) -> None:
        await self._channel.close()
