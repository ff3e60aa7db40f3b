"""REST: `/api/v1/cameras` (registry, attachment, health) and `/api/v1/ingest` (status).

Routes only parse, authorise, dispatch and shape the answer; rules live in the domain."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response
from lfr_platform.auth import Principal, require
from lfr_platform.errors import NotFound
from lfr_platform.http import current_correlation_id

from lfr_ingest.app import commands as c
from lfr_ingest.app.handlers import IngestApp
from lfr_ingest.app.streaming import StreamSupervisor
from lfr_ingest.entrypoints.http.schemas import (
    AttachBody,
    DecommissionBody,
    DetachBody,
    RegisterCameraBody,
    UpdateCameraBody,
    camera_view,
)


def _who(principal: Principal) -> dict[str, Any]:
    return {
        "actor": principal.subject,
        "role": principal.role.value,
        "correlation_id": current_correlation_id(),
    }


def build_routers(ingest: IngestApp, supervisor: StreamSupervisor) -> list[APIRouter]:
    cameras = APIRouter(prefix="/cameras", tags=["cameras"])
    status = APIRouter(prefix="/ingest", tags=["ingest"])

    def find(camera_id: str) -> Any:
        camera = ingest.registry.cameras.get(camera_id)
        if camera is None:
            raise NotFound(f"camera {camera_id!r} does not exist")
        return camera

    @cameras.get("", summary="List cameras")
    async def list_cameras(_: Annotated[Principal, Depends(require("cameras.read"))]) -> list[dict[str, Any]]:
        return [camera_view(cam) for _, cam in sorted(ingest.registry.cameras.items())]

    @cameras.post("", status_code=201, summary="Register a camera")
    async def register(
        body: RegisterCameraBody,
        principal: Annotated[Principal, Depends(require("cameras.register"))],
        response: Response,
    ) -> dict[str, Any]:
        camera = await ingest.register(
            c.RegisterCamera(
                camera_id=body.id,
                name=body.name,
                source_url=body.source_url,
                rtsp_transport=body.rtsp_transport,
                zone=tuple(body.zone) if body.zone else None,
                fps=body.fps,
                max_width=body.max_width,
                max_height=body.max_height,
                **_who(principal),
            )
        )
        response.headers["Location"] = f"/api/v1/cameras/{camera.id}"
        return camera_view(camera)

    @cameras.get("/{camera_id}", summary="Read a camera")
    async def read(
        camera_id: str, _: Annotated[Principal, Depends(require("cameras.read"))]
    ) -> dict[str, Any]:
        return camera_view(find(camera_id))

    @cameras.patch("/{camera_id}", summary="Change a camera's settings or source")
    async def update(
        camera_id: str,
        body: UpdateCameraBody,
        principal: Annotated[Principal, Depends(require("cameras.update"))],
    ) -> dict[str, Any]:
        camera = await ingest.update(
            c.UpdateCamera(
                camera_id=camera_id,
                name=body.name,
                source_url=body.source_url,
                rtsp_transport=body.rtsp_transport,
                zone=tuple(body.zone) if body.zone else None,
                clear_zone=body.clear_zone,
                fps=body.fps,
                max_width=body.max_width,
                max_height=body.max_height,
                **_who(principal),
            )
        )
        return camera_view(camera)

    @cameras.post("/{camera_id}/decommission", summary="Decommission a camera")
    async def decommission(
        camera_id: str,
        body: DecommissionBody,
        principal: Annotated[Principal, Depends(require("cameras.decommission"))],
    ) -> dict[str, Any]:
        camera = await ingest.decommission(
            c.DecommissionCamera(camera_id=camera_id, reason=body.reason, **_who(principal))
        )
        return camera_view(camera)

    @cameras.post("/{camera_id}/attach", summary="Attach a camera to a deployment (Form 1 cameras only)")
    async def attach(
        camera_id: str,
        body: AttachBody,
        principal: Annotated[Principal, Depends(require("cameras.attach"))],
    ) -> dict[str, Any]:
        camera = await ingest.attach(
            c.AttachCamera(camera_id=camera_id, deployment_id=body.deployment_id, **_who(principal))
        )
        return camera_view(camera)

    @cameras.post("/{camera_id}/detach", summary="Detach a camera from its deployment")
    async def detach(
        camera_id: str,
        body: DetachBody,
        principal: Annotated[Principal, Depends(require("cameras.attach"))],
    ) -> dict[str, Any]:
        camera = await ingest.detach(
            c.DetachCamera(
                camera_id=camera_id, deployment_id=body.deployment_id, reason=body.reason, **_who(principal)
            )
        )
        return camera_view(camera)

    @cameras.get("/{camera_id}/health", summary="Stream health: connected, fps in/out, drops, last error")
    async def health(
        camera_id: str, _: Annotated[Principal, Depends(require("cameras.read"))]
    ) -> dict[str, Any]:
        find(camera_id)
        return supervisor.health(camera_id)

    @status.get("/status", summary="Ingest status: every camera's stream health")
    async def ingest_status(_: Annotated[Principal, Depends(require("ingest.read"))]) -> dict[str, Any]:
        cameras_health = [supervisor.health(camera_id) for camera_id in supervisor.camera_ids()]
        return {
            "cameras": cameras_health,
            "streaming": len(supervisor.streaming),
            "connected": sum(1 for h in cameras_health if h["connected"]),
            "frames_dropped": sum(h["frames_dropped"] for h in cameras_health),
        }

    return [cameras, status]
