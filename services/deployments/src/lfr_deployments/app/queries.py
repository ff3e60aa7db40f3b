"""Read side: simple rehydration of the event streams (a projection table can replace this later)."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime

from lfr_platform.errors import LfrError
from lfr_platform.eventstore import EventStore

from lfr_deployments.app.handlers import REPOSITORY, DeploymentServices, estimate_false_alerts
from lfr_deployments.domain.deployment import RUNNING, Deployment, FalseAlertEstimate, Status
from lfr_deployments.domain.form1 import CommunityImpactAssessment, Form1


@dataclass(frozen=True, kw_only=True)
class DeploymentView:
    deployment_id: str
    version: int
    status: Status
    form: Form1
    submitted_by: str | None
    authorised_by: str | None
    watchlist_version: int | None
    assessments: tuple[CommunityImpactAssessment, ...]


def _view(deployment: Deployment) -> DeploymentView:
    assert deployment.form is not None
    return DeploymentView(
        deployment_id=deployment.id,
        version=deployment.version,
        status=deployment.status,
        form=deployment.form,
        submitted_by=deployment.submitted_by,
        authorised_by=deployment.authorised_by,
        watchlist_version=deployment.pinned_watchlist_version,
        assessments=tuple(deployment.assessments),
    )


async def get_deployment(reader: EventStore, deployment_id: str) -> DeploymentView:
    return _view(await REPOSITORY.get(reader, deployment_id))


async def list_deployments(reader: EventStore, status: Status | None = None) -> list[DeploymentView]:
    views = [_view(await REPOSITORY.get(reader, sid)) for sid in await reader.list_streams(
        Deployment.stream_type)]
    return [v for v in views if status is None or v.status == status]


async def expected_false_alert_rate(svc: DeploymentServices, deployment_id: str) -> FalseAlertEstimate:
    """What the authorising officer sees before deciding: the rate for this threshold and watchlist."""
    view = await get_deployment(svc.db.reader(), deployment_id)
    size = 0
    if view.form.watchlist_id:
        summary = await svc.watchlists.summary(view.form.watchlist_id, on=view.form.window.start.date())
        size = summary.size
    return await estimate_false_alerts(svc, view.form.threshold.value, size)


async def due_to_expire(reader: EventStore, now: datetime) -> list[str]:
    """Deployments still running after their window: the scheduler sends ExpireDeployment for each."""
    return [v.deployment_id for v in await list_deployments(reader)
            if v.status in RUNNING and v.form.window.end <= now]


async def wait_for_frozen_watchlist(svc: DeploymentServices, deployment_id: str, timeout_s: float) -> None:
    """Give the freeze a moment to arrive before a start. Freezing is the watchlists service's reaction to
    DeploymentAuthorised and reaches this service's projection over Kafka, so a start sent right after
    authorisation can otherwise race it. Waits outside any transaction (the projection's writer needs the
    database) and returns either way: the start command itself decides, with `watchlist_not_frozen`."""
    deadline = time.monotonic() + timeout_s
    while True:
        deployment = await REPOSITORY.find(svc.db.reader(), deployment_id)
        if deployment is None or deployment.pinned_watchlist_id is None or deployment.form is None:
            return
        try:
            summary = await svc.watchlists.summary(deployment.pinned_watchlist_id,
                                                   on=deployment.form.window.start.date())
        except LfrError:  # NotFound and the like: let the command report it
            return
        if summary.frozen and summary.version == deployment.pinned_watchlist_version:
            return
        if time.monotonic() >= deadline:
            return
        await asyncio.sleep(0.05)
