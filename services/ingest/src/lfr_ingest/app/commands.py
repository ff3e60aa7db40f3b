"""Commands (imperative) the REST API and the deployments consumer send to the handlers."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Command:
    actor: str
    role: str
    correlation_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class RegisterCamera(Command):
    camera_id: str
    name: str
    source_url: str
    rtsp_transport: str = "tcp"
    zone: tuple[tuple[float, float], ...] | None = None
    fps: float | None = None
    max_width: int | None = None
    max_height: int | None = None


@dataclass(frozen=True, kw_only=True)
class UpdateCamera(Command):
    camera_id: str
    name: str | None = None
    source_url: str | None = None
    rtsp_transport: str | None = None
    zone: tuple[tuple[float, float], ...] | None = None
    clear_zone: bool = False
    fps: float | None = None
    max_width: int | None = None
    max_height: int | None = None


@dataclass(frozen=True, kw_only=True)
class DecommissionCamera(Command):
    camera_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class AttachCamera(Command):
    camera_id: str
    deployment_id: str


@dataclass(frozen=True, kw_only=True)
class DetachCamera(Command):
    camera_id: str
    deployment_id: str
    reason: str
