"""REST under /api/v1/deployments: parse, authorise (permission matrix), dispatch to the bus, answer.

The person and role in every event come from the bearer token, never from the body; the request's
correlation id and trace context go into the event metadata. Domain refusals surface as 422 with the
rule's machine code (lfr_platform.errors, handled by create_app).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from lfr_platform.auth import Principal, require
from lfr_platform.http import current_correlation_id
from lfr_platform.messaging.tracing import current_traceparent

from lfr_deployments.app import commands as c
from lfr_deployments.app.handlers import DeploymentBus
from lfr_deployments.app.queries import (
    expected_false_alert_rate,
    get_deployment,
    list_deployments,
    wait_for_frozen_watchlist,
)
from lfr_deployments.domain.deployment import Status
from lfr_deployments.entrypoints.http import models as m

Reader = Annotated[Principal, Depends(require("deployments.read"))]
Creator = Annotated[Principal, Depends(require("deployments.create"))]
Updater = Annotated[Principal, Depends(require("deployments.update"))]
ThresholdSetter = Annotated[Principal, Depends(require("deployments.change_threshold"))]
Assessor = Annotated[Principal, Depends(require("deployments.assess_community_impact"))]
Submitter = Annotated[Principal, Depends(require("deployments.submit"))]
Authoriser = Annotated[Principal, Depends(require("deployments.authorise"))]
Rejecter = Annotated[Principal, Depends(require("deployments.reject"))]
Starter = Annotated[Principal, Depends(require("deployments.start"))]
Halter = Annotated[Principal, Depends(require("deployments.halt"))]
Ender = Annotated[Principal, Depends(require("deployments.end"))]
Reviewer = Annotated[Principal, Depends(require("deployments.review"))]


def who(principal: Principal) -> dict[str, Any]:
    """Actor and role from the token; correlation id and traceparent from the request's context."""
    traceparent, _tracestate = current_traceparent()
    return {"actor": principal.subject, "role": principal.role.value,
            "correlation_id": current_correlation_id(), "traceparent": traceparent}


def deployments_router(bus: DeploymentBus, freeze_wait_seconds: float = 0.0) -> APIRouter:
    router = APIRouter(prefix="/deployments", tags=["deployments"])
    svc = bus.context

    async def run(command: c.Command, deployment_id: str) -> m.CommandResult:
        stored = await bus.handle(command)
        view = await get_deployment(svc.db.reader(), deployment_id)
        return m.CommandResult(
            deployment_id=deployment_id, status=view.status, version=view.version,
            events=[m.RecordedEvent(event_id=str(e.event_id), event_type=e.event_type, version=e.version)
                    for e in stored])

    @router.post("", status_code=201, summary="Draft a deployment (Form 1)")
    async def draft(body: m.DraftBody, principal: Creator) -> m.CommandResult:
        deployment_id = body.deployment_id or f"dep-{uuid.uuid4().hex[:12]}"
        return await run(c.DraftDeployment(deployment_id=deployment_id, form=body.form.to_domain(),
                                           **who(principal)), deployment_id)

    @router.get("", summary="List deployments, optionally by status")
    async def listing(_: Reader, status: Annotated[Status | None, Query()] = None) -> m.DeploymentList:
        views = await list_deployments(svc.db.reader(), status)
        return m.DeploymentList(deployments=[m.deployment_out(v) for v in views])

    @router.get("/{deployment_id}", summary="Read a deployment: Form 1, status, assessments")
    async def read(deployment_id: str, _: Reader) -> m.DeploymentOut:
        return m.deployment_out(await get_deployment(svc.db.reader(), deployment_id))

    @router.get("/{deployment_id}/expected-false-alert-rate",
                summary="What the authorising officer sees before deciding: the expected false alert "
                        "rate for the current threshold and watchlist size")
    async def false_alert_rate(deployment_id: str, _: Reader) -> m.FalseAlertRateOut:
        view = await get_deployment(svc.db.reader(), deployment_id)
        estimate = await expected_false_alert_rate(svc, deployment_id)
        size = 0
        if view.form.watchlist_id:
            size = (await svc.watchlists.summary(view.form.watchlist_id, view.form.window.start.date())).size
        limit = svc.policy.max_false_alerts_per_1000
        return m.FalseAlertRateOut(
            deployment_id=deployment_id, threshold=view.form.threshold.value,
            watchlist_id=view.form.watchlist_id, watchlist_size=size,
            expected_false_alerts_per_1000=estimate.per_1000, max_false_alerts_per_1000=limit,
            within_direction=estimate.per_1000 <= limit, calibration_model_version=estimate.model_version)

    @router.patch("/{deployment_id}", summary="Amend Form 1 (lapses an authorisation)")
    async def amend(deployment_id: str, body: m.AmendBody, principal: Updater) -> m.CommandResult:
        convert: dict[str, Callable[[Any], Any]] = {
            "purpose": m.purpose, "location": m.location, "window": m.window, "composition": m.composition,
            "cameras": tuple, "operators": tuple}
        changes = {name: convert.get(name, lambda v: v)(getattr(body, name))
                   for name in body.model_fields_set if name != "reason" and getattr(body, name) is not None}
        return await run(c.AmendForm1(deployment_id=deployment_id, reason=body.reason, **changes,
                                      **who(principal)), deployment_id)

    @router.post("/{deployment_id}/threshold", summary="Change the face-match threshold (with justification)")
    async def change_threshold(
        deployment_id: str, body: m.ChangeThresholdBody, principal: ThresholdSetter
    ) -> m.CommandResult:
        return await run(c.ChangeThreshold(deployment_id=deployment_id, threshold=m.threshold(body.threshold),
                                           reason=body.reason, **who(principal)), deployment_id)

    @router.post("/{deployment_id}/community-impact", summary="Record a community impact (re)assessment")
    async def reassess(deployment_id: str, body: m.AssessmentBody, principal: Assessor) -> m.CommandResult:
        return await run(c.ReassessCommunityImpact(deployment_id=deployment_id, assessment=body.to_domain(),
                                                   **who(principal)), deployment_id)

    @router.post("/{deployment_id}/submit", summary="Submit Form 1 for authorisation")
    async def submit(deployment_id: str, principal: Submitter) -> m.CommandResult:
        return await run(c.SubmitDeployment(deployment_id=deployment_id, **who(principal)), deployment_id)

    @router.post("/{deployment_id}/authorise", summary="Authorise in writing (not the submitter, "
                                                       "not an operator on it)")
    async def authorise(
        deployment_id: str, principal: Authoriser, body: m.NotesBody | None = None
    ) -> m.CommandResult:
        notes = body.notes if body else ""
        return await run(c.AuthoriseDeployment(deployment_id=deployment_id, notes=notes, **who(principal)),
                         deployment_id)

    @router.post("/{deployment_id}/refuse", summary="Refuse authorisation, with reasons")
    async def refuse(deployment_id: str, body: m.ReasonBody, principal: Rejecter) -> m.CommandResult:
        return await run(c.RefuseAuthorisation(deployment_id=deployment_id, reason=body.reason,
                                               **who(principal)), deployment_id)

    @router.post("/{deployment_id}/start", summary="Start an authorised deployment inside its window")
    async def start(
        deployment_id: str, principal: Starter, _body: m.StartBody | None = None
    ) -> m.CommandResult:
        await wait_for_frozen_watchlist(svc, deployment_id, freeze_wait_seconds)
        return await run(c.StartDeployment(deployment_id=deployment_id, **who(principal)), deployment_id)

    @router.post("/{deployment_id}/halt", summary="Halt at once, with a reason")
    async def halt(deployment_id: str, body: m.ReasonBody, principal: Halter) -> m.CommandResult:
        return await run(c.HaltDeployment(deployment_id=deployment_id, reason=body.reason, **who(principal)),
                         deployment_id)

    @router.post("/{deployment_id}/resume", summary="Restart a halted deployment, with a reason")
    async def resume(deployment_id: str, body: m.ReasonBody, principal: Starter) -> m.CommandResult:
        await wait_for_frozen_watchlist(svc, deployment_id, freeze_wait_seconds)
        return await run(c.StartDeployment(deployment_id=deployment_id, reason=body.reason, **who(principal)),
                         deployment_id)

    @router.post("/{deployment_id}/end", summary="End the deployment")
    async def end(deployment_id: str, principal: Ender, body: m.EndBody | None = None) -> m.CommandResult:
        return await run(c.EndDeployment(deployment_id=deployment_id, note=body.note if body else "",
                                         **who(principal)), deployment_id)

    @router.post("/{deployment_id}/review", summary="Record the post-deployment review")
    async def review(deployment_id: str, body: m.ReviewBody, principal: Reviewer) -> m.CommandResult:
        return await run(c.RecordPostDeploymentReview(
            deployment_id=deployment_id, false_alerts_examined=body.false_alerts_examined,
            findings=body.findings, report_reference=body.report_reference, **who(principal)), deployment_id)

    return router
