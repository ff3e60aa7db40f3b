"""Request and response bodies of the ingest REST API. Source URLs only ever leave redacted."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from lfr_ingest.domain.camera import Camera

Point = tuple[float, float]


class RegisterCameraBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Stable camera id: lower-case letters, digits, '.', '_', '-'")
    name: str
    source_url: str = Field(
        description="rtsp://, rtsps://, http(s):// (MJPEG) or file:/// inside the media folder; "
        "credentials in the URL are encrypted at rest and never returned"
    )
    rtsp_transport: str = "tcp"
    zone: list[Point] | None = Field(
        default=None, description="Zone of recognition: polygon, 0..1 coordinates"
    )
    fps: float | None = Field(default=None, description="Sampling rate (frames per second published)")
    max_width: int | None = None
    max_height: int | None = None


class UpdateCameraBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    source_url: str | None = None
    rtsp_transport: str | None = None
    zone: list[Point] | None = None
    clear_zone: bool = False
    fps: float | None = None
    max_width: int | None = None
    max_height: int | None = None


class DecommissionBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)


class AttachBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    deployment_id: str = Field(min_length=1, max_length=64)


class DetachBody(AttachBody):
    reason: str = Field(default="detached by silver commander", max_length=500)


def camera_view(camera: Camera) -> dict[str, Any]:
    settings = camera.settings
    assert settings is not None
    return {
        "id": camera.id,
        "name": settings.name,
        "source_kind": settings.source_kind,
        "source_url": settings.source_url,  # redacted at registration; the sealed form never leaves
        "rtsp_transport": settings.rtsp_transport,
        "zone": [list(p) for p in settings.zone] if settings.zone else None,
        "fps": settings.fps,
        "max_width": settings.max_width,
        "max_height": settings.max_height,
        "deployment_id": camera.deployment_id,
        "decommissioned": camera.decommissioned,
        "connected": camera.connected,
        "last_error_code": camera.last_error_code,
        "version": camera.version,
    }
