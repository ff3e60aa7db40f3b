"""Camera events: past tense, frozen, non-biometric. Up/down events are what the audit trail records.

`source_url_sealed` is the source URL AES-GCM sealed under a key derived from the master key (it may
hold credentials); `source_url` in events is always the redacted form."""

from __future__ import annotations

from dataclasses import dataclass

from lfr_platform.aggregate import DomainEvent, EventRegistry


@dataclass(frozen=True, kw_only=True)
class CameraSettings:
    name: str
    source_kind: str
    source_url: str  # redacted
    source_url_sealed: str  # base64 of the sealed URL
    rtsp_transport: str
    zone: tuple[tuple[float, float], ...] | None
    fps: float
    max_width: int
    max_height: int


@dataclass(frozen=True, kw_only=True)
class CameraRegistered(DomainEvent):
    settings: CameraSettings


@dataclass(frozen=True, kw_only=True)
class CameraUpdated(DomainEvent):
    settings: CameraSettings
    changed: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class CameraDecommissioned(DomainEvent):
    reason: str


@dataclass(frozen=True, kw_only=True)
class CameraAttached(DomainEvent):
    deployment_id: str


@dataclass(frozen=True, kw_only=True)
class CameraDetached(DomainEvent):
    deployment_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class CameraConnected(DomainEvent):
    deployment_id: str
    width: int
    height: int
    codec: str


@dataclass(frozen=True, kw_only=True)
class CameraDisconnected(DomainEvent):
    deployment_id: str | None
    reason: str


@dataclass(frozen=True, kw_only=True)
class CameraErrored(DomainEvent):
    deployment_id: str | None
    code: str
    message: str


CAMERA_EVENTS = EventRegistry(
    CameraRegistered,
    CameraUpdated,
    CameraDecommissioned,
    CameraAttached,
    CameraDetached,
    CameraConnected,
    CameraDisconnected,
    CameraErrored,
)
