"""The service's in-memory view of its own event store: cameras and observed deployments.

Ingest runs as one replica (a camera stream is pulled once), so the store is the truth and this is a
cache loaded at start and refreshed after every commit."""

from __future__ import annotations

from datetime import datetime

from lfr_platform.eventstore import EventSourcedRepository, EventStore

from lfr_ingest.domain.authority import (
    VIEW_EVENTS,
    DeploymentView,
    ObservedDeployment,
    why_camera_may_not_stream,
)
from lfr_ingest.domain.camera import Camera
from lfr_ingest.domain.events import CAMERA_EVENTS

CAMERAS: EventSourcedRepository[Camera] = EventSourcedRepository(Camera, CAMERA_EVENTS)
DEPLOYMENTS: EventSourcedRepository[ObservedDeployment] = EventSourcedRepository(
    ObservedDeployment, VIEW_EVENTS
)


class Registry:
    def __init__(self) -> None:
        self.cameras: dict[str, Camera] = {}
        self.deployments: dict[str, DeploymentView] = {}

    async def load(self, store: EventStore) -> None:
        for stream_id in await store.list_streams(Camera.stream_type):
            camera = await CAMERAS.find(store, stream_id)
            if camera is not None:
                self.cameras[stream_id] = camera
        for stream_id in await store.list_streams(ObservedDeployment.stream_type):
            observed = await DEPLOYMENTS.find(store, stream_id)
            if observed is not None:
                self.deployments[observed.view.deployment_id] = observed.view

    def why_not_streaming(self, camera_id: str, now: datetime) -> str | None:
        camera = self.cameras.get(camera_id)
        if camera is None:
            return "camera_unknown"
        view = self.deployments.get(camera.deployment_id) if camera.deployment_id else None
        return why_camera_may_not_stream(camera.active, camera.deployment_id, view, camera_id, now)

    def may_publish(self, camera_id: str, deployment_id: str, now: datetime) -> bool:
        camera = self.cameras.get(camera_id)
        return (
            camera is not None
            and camera.deployment_id == deployment_id
            and self.why_not_streaming(camera_id, now) is None
        )
