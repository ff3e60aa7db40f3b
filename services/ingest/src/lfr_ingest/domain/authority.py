"""What ingest knows of each deployment: its status, authorised window and Form 1 cameras.

It is folded from the deployments service's events (`lfr.deployments.events.v1`) into a local,
unpublished stream per deployment (`DeploymentObserved`), so it survives restarts. A camera may stream
only while it is attached to a deployment that is live, listed on that deployment's Form 1, and the
clock is inside the authorised window (checked locally, so a window ends on time even if the
deployments service is unreachable).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from lfr_platform.aggregate import Aggregate, DomainEvent, EventRegistry


class DeploymentStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    AUTHORISED = "authorised"
    LIVE = "live"
    HALTED = "halted"
    ENDED = "ended"


# Upstream event type -> status it leads to (None: the status does not change).
_TRANSITIONS: dict[str, DeploymentStatus | None] = {
    "DeploymentDrafted": DeploymentStatus.DRAFT,
    "Form1Amended": None,
    "DeploymentSubmitted": DeploymentStatus.SUBMITTED,
    "DeploymentAuthorised": DeploymentStatus.AUTHORISED,
    "AuthorisationRefused": DeploymentStatus.DRAFT,
    "AuthorisationLapsed": DeploymentStatus.DRAFT,
    "DeploymentStarted": DeploymentStatus.LIVE,
    "DeploymentHalted": DeploymentStatus.HALTED,
    "DeploymentResumed": DeploymentStatus.LIVE,
    "DeploymentEnded": DeploymentStatus.ENDED,
    "PostDeploymentReviewRecorded": DeploymentStatus.ENDED,
}


@dataclass(frozen=True, kw_only=True)
class DeploymentView:
    deployment_id: str
    status: DeploymentStatus = DeploymentStatus.DRAFT
    window_start: datetime | None = None
    window_end: datetime | None = None
    cameras: tuple[str, ...] = ()

    def in_window(self, now: datetime) -> bool:
        return (
            self.window_start is not None
            and self.window_end is not None
            and self.window_start <= now < self.window_end
        )

    def why_not_streaming(self, camera_id: str, now: datetime) -> str | None:
        """None if `camera_id` may stream for this deployment at `now`, else the reason it may not."""
        if self.status is not DeploymentStatus.LIVE:
            return f"deployment_{self.status.value}"
        if not self.in_window(now):
            return "outside_authorised_window"
        if camera_id not in self.cameras:
            return "camera_not_on_form1"
        return None

    def observe(self, event_type: str, data: Mapping[str, Any]) -> DeploymentView | None:
        """The view after an upstream event, or None when the event changes nothing ingest cares about."""
        if event_type not in _TRANSITIONS:
            return None
        view = self
        form = data.get("form")
        if isinstance(form, Mapping):
            window = form.get("window") or {}
            view = replace(
                view,
                window_start=_parse_time(window.get("start")),
                window_end=_parse_time(window.get("end")),
                cameras=tuple(str(c) for c in form.get("cameras") or ()),
            )
        status = _TRANSITIONS[event_type]
        if status is not None:
            view = replace(view, status=status)
        return None if view == self else view


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


@dataclass(frozen=True, kw_only=True)
class DeploymentObserved(DomainEvent):
    upstream_event_type: str
    upstream_event_id: str
    status: str
    window_start: datetime | None
    window_end: datetime | None
    cameras: tuple[str, ...]


VIEW_EVENTS = EventRegistry(DeploymentObserved)


class ObservedDeployment(Aggregate):
    """Local, unpublished stream `deployment:<id>` holding ingest's view of one deployment."""

    stream_type = "deployment_view"

    @staticmethod
    def stream_id_for(deployment_id: str) -> str:
        return f"deployment:{deployment_id}"

    def _init_state(self) -> None:
        self.view = DeploymentView(deployment_id=self.id.removeprefix("deployment:"))

    def observe(
        self, event_type: str, event_id: str, data: Mapping[str, Any], *, actor: str, role: str, at: datetime
    ) -> bool:
        new = self.view.observe(event_type, data)
        if new is None:
            return False
        self._trigger(
            DeploymentObserved,
            actor=actor,
            role=role,
            at=at,
            upstream_event_type=event_type,
            upstream_event_id=event_id,
            status=new.status.value,
            window_start=new.window_start,
            window_end=new.window_end,
            cameras=new.cameras,
        )
        return True

    def _apply(self, event: DomainEvent) -> None:
        assert isinstance(event, DeploymentObserved)
        self.view = DeploymentView(
            deployment_id=self.view.deployment_id,
            status=DeploymentStatus(event.status),
            window_start=event.window_start,
            window_end=event.window_end,
            cameras=tuple(event.cameras),
        )


def why_camera_may_not_stream(
    camera_active: bool, deployment_id: str | None, view: DeploymentView | None, camera_id: str, now: datetime
) -> str | None:
    if not camera_active:
        return "camera_decommissioned"
    if deployment_id is None:
        return "not_attached"
    if view is None:
        return "deployment_unknown"
    return view.why_not_streaming(camera_id, now)
