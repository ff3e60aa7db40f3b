"""The Camera aggregate: registry entry, attachment to one deployment at a time, and its up/down history.

Connection events are recorded by the service itself (actor `lfr-ingest`); the rules keep them honest:
a camera is only "connected" once, a disconnection needs a connection, a repeated identical error is
not recorded again (a camera retrying every few seconds must not flood the audit trail).
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from lfr_platform.aggregate import Aggregate, DomainEvent
from lfr_platform.errors import DomainRuleViolation

from lfr_ingest.domain import events as ev
from lfr_ingest.domain.events import CameraSettings

SERVICE_ACTOR = "lfr-ingest"
SERVICE_ROLE = "service"


def _refuse(code: str, message: str, **details: Any) -> DomainRuleViolation:
    return DomainRuleViolation(message, code=code, details=details)


class Camera(Aggregate):
    stream_type = "camera"

    def _init_state(self) -> None:
        self.settings: CameraSettings | None = None
        self.decommissioned = False
        self.deployment_id: str | None = None
        self.connected = False
        self.last_error_code: str | None = None

    # Commands -----------------------------------------------------------------------------------------

    @classmethod
    def register(
        cls, camera_id: str, settings: CameraSettings, *, actor: str, role: str, at: datetime
    ) -> Camera:
        camera = cls(camera_id)
        camera._trigger(ev.CameraRegistered, actor=actor, role=role, at=at, settings=settings)
        return camera

    def update(self, settings: CameraSettings, *, actor: str, role: str, at: datetime) -> None:
        self._require_active()
        assert self.settings is not None
        changed = tuple(
            f.name
            for f in fields(CameraSettings)
            if getattr(settings, f.name) != getattr(self.settings, f.name) and f.name != "source_url_sealed"
        )
        if settings.source_url_sealed != self.settings.source_url_sealed and "source_url" not in changed:
            changed += ("source_url",)  # credentials changed; which part stays secret
        if changed:
            self._trigger(ev.CameraUpdated, actor=actor, role=role, at=at, settings=settings, changed=changed)

    def decommission(self, reason: str, *, actor: str, role: str, at: datetime) -> None:
        self._require_active()
        if self.deployment_id is not None:
            raise _refuse(
                "camera_attached",
                f"camera {self.id} is attached to deployment {self.deployment_id}; detach it first",
                deployment_id=self.deployment_id,
            )
        self._trigger(ev.CameraDecommissioned, actor=actor, role=role, at=at, reason=reason)

    def attach(self, deployment_id: str, *, actor: str, role: str, at: datetime) -> None:
        self._require_active()
        if self.deployment_id == deployment_id:
            return
        if self.deployment_id is not None:
            raise _refuse(
                "camera_already_attached",
                f"camera {self.id} is attached to deployment {self.deployment_id}",
                deployment_id=self.deployment_id,
            )
        self._trigger(ev.CameraAttached, actor=actor, role=role, at=at, deployment_id=deployment_id)

    def detach(self, deployment_id: str, reason: str, *, actor: str, role: str, at: datetime) -> None:
        if self.deployment_id != deployment_id:
            raise _refuse(
                "camera_not_attached",
                f"camera {self.id} is not attached to deployment {deployment_id}",
                deployment_id=deployment_id,
            )
        self._trigger(
            ev.CameraDetached, actor=actor, role=role, at=at, deployment_id=deployment_id, reason=reason
        )

    def record_connected(
        self, deployment_id: str, width: int, height: int, codec: str, *, at: datetime
    ) -> None:
        if self.connected:
            return
        self._trigger(
            ev.CameraConnected,
            actor=SERVICE_ACTOR,
            role=SERVICE_ROLE,
            at=at,
            deployment_id=deployment_id,
            width=width,
            height=height,
            codec=codec,
        )

    def record_disconnected(self, deployment_id: str | None, reason: str, *, at: datetime) -> None:
        if not self.connected:
            return
        self._trigger(
            ev.CameraDisconnected,
            actor=SERVICE_ACTOR,
            role=SERVICE_ROLE,
            at=at,
            deployment_id=deployment_id,
            reason=reason,
        )

    def record_error(self, deployment_id: str | None, code: str, message: str, *, at: datetime) -> None:
        if code == self.last_error_code and not self.connected:
            return
        if self.connected:
            self.record_disconnected(deployment_id, code, at=at)
        self._trigger(
            ev.CameraErrored,
            actor=SERVICE_ACTOR,
            role=SERVICE_ROLE,
            at=at,
            deployment_id=deployment_id,
            code=code,
            message=message[:500],
        )

    def _require_active(self) -> None:
        if self.decommissioned:
            raise _refuse("camera_decommissioned", f"camera {self.id} is decommissioned")

    # State --------------------------------------------------------------------------------------------

    @property
    def active(self) -> bool:
        return self.settings is not None and not self.decommissioned

    def _apply(self, event: DomainEvent) -> None:
        match event:
            case ev.CameraRegistered() | ev.CameraUpdated():
                self.settings = event.settings
            case ev.CameraDecommissioned():
                self.decommissioned = True
            case ev.CameraAttached():
                self.deployment_id = event.deployment_id
            case ev.CameraDetached():
                self.deployment_id = None
            case ev.CameraConnected():
                self.connected = True
                self.last_error_code = None
            case ev.CameraDisconnected():
                self.connected = False
            case ev.CameraErrored():
                self.connected = False
                self.last_error_code = event.code
