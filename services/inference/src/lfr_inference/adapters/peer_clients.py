"""gRPC client of the watchlists service's Gallery, which inference depends on (the data keys come from
`lfr_platform.data_keys`). Templates are never logged."""

from __future__ import annotations

import grpc
import numpy as np
from lfr_platform.grpc_security import LazyChannel
from lfr_proto.lfr.watchlists.v1 import gallery_pb2, gallery_pb2_grpc

from lfr_inference.app.ports import GallerySnapshot, GalleryTemplate


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
