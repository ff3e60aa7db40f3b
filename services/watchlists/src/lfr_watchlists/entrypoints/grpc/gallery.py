"""`lfr.watchlists.v1.Gallery/GetGallery`: the frozen watchlist's templates for the inference service.
Refused (FAILED_PRECONDITION) unless frozen, so only what the authorising officer approved is searched.
Templates are decrypted for the reply only and never logged."""

from __future__ import annotations

from collections.abc import Callable

import grpc
from lfr_platform.errors import DomainRuleViolation, LfrError, NotFound
from lfr_platform.eventstore import EventDatabase
from lfr_proto.lfr.watchlists.v1 import gallery_pb2, gallery_pb2_grpc

from lfr_watchlists.app.biometrics import frozen_gallery
from lfr_watchlists.app.ports import BiometricReader

SERVICE_NAME = "lfr.watchlists.v1.Gallery"


class GalleryServicer(gallery_pb2_grpc.GalleryServicer):
    def __init__(self, db: EventDatabase, vault: BiometricReader) -> None:
        self._db = db
        self._vault = vault

    async def GetGallery(  # noqa: N802 (gRPC method name)
        self, request: gallery_pb2.GetGalleryRequest, context: grpc.aio.ServicerContext
    ) -> gallery_pb2.GalleryResponse:
        if not request.deployment_id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "deployment_id is required")
        try:
            gallery = await frozen_gallery(self._db.reader(), self._vault, request.deployment_id)
        except NotFound as error:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"{error.code}: {error.message}")
        except DomainRuleViolation as error:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"{error.code}: {error.message}")
        except LfrError as error:  # the key was destroyed, or the deployments service is unreachable
            status = grpc.StatusCode.FAILED_PRECONDITION if error.http_status == 410 else \
                grpc.StatusCode.UNAVAILABLE
            await context.abort(status, f"{error.code}: {error.message}")
        return gallery_pb2.GalleryResponse(
            watchlist_id=gallery.watchlist_id, version=gallery.version, frozen=gallery.frozen,
            model_version=gallery.model_version,
            entries=[gallery_pb2.GalleryEntry(entry_id=t.entry_id, template=t.template, category=t.category)
                     for t in gallery.templates],
        )


def gallery_registrar(db: EventDatabase, vault: BiometricReader) -> Callable[[grpc.aio.Server], None]:
    def register(server: grpc.aio.Server) -> None:
        gallery_pb2_grpc.add_GalleryServicer_to_server(GalleryServicer(db, vault), server)

    return register
