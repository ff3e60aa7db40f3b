"""`/api/v1/alerts`: the queue, one alert, per-deployment counts, the live stream, media, and decisions.

Routes parse, authorise and dispatch; rules live in the Alert aggregate. Media routes need
`alerts.view_media` (operator, engagement officer): oversight and admin get 403, never an image.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from lfr_platform.auth import Principal, require
from lfr_platform.errors import NotFound
from lfr_platform.eventstore import EventDatabase
from lfr_platform.http import current_correlation_id
from pydantic import BaseModel, Field

from lfr_alerts.adapters.media import CropReader
from lfr_alerts.adapters.views_sql import SqlAlertViews
from lfr_alerts.app import commands as c
from lfr_alerts.app.changes import ChangeSignal
from lfr_alerts.app.handlers import AlertsContext, handle
from lfr_alerts.app.ports import Image, WatchlistImages
from lfr_alerts.domain.alert import Action, AlertStatus, DismissReason, Outcome
from lfr_alerts.entrypoints.http.stream import LastEventId, alert_events, resume_position, stream_principal

NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@dataclass
class AlertsHttp:
    ctx: AlertsContext
    changes: ChangeSignal
    crops: CropReader
    watchlist_images: WatchlistImages
    heartbeat_seconds: float = 15.0
    poll_seconds: float = 1.0

    @property
    def db(self) -> EventDatabase:
        return self.ctx.db

    @property
    def views(self) -> SqlAlertViews:
        return self.ctx.views


class DismissBody(BaseModel):
    reason: Annotated[str, Field(description=f"one of {[r.value for r in DismissReason]}")]
    note: str = Field(default="", max_length=2000)


class EngageBody(BaseModel):
    note: str = Field(default="", max_length=2000, description="e.g. which officer was dispatched")


class OutcomeBody(BaseModel):
    outcome: Annotated[str, Field(description=f"one of {[o.value for o in Outcome]}")]
    action: Annotated[str, Field(description=f"one of {[a.value for a in Action]}")] = "none"
    action_detail: str = Field(default="", max_length=2000, description="required when action is 'other'")
    note: str = Field(default="", max_length=2000)


StatusFilter = Literal[
    "pending", "in_review", "dismissed", "engaged", "outcome_recorded", "not_reviewed", "suppressed", "open"
]


def alerts_router(parts: AlertsHttp) -> APIRouter:
    router = APIRouter(prefix="/alerts", tags=["alerts"])

    async def _view(alert_id: UUID | str) -> dict[str, Any]:
        view = await parts.views.get(str(alert_id))
        if view is None:
            raise NotFound(f"alert {str(alert_id)!r} does not exist", code="alert_not_found")
        return view

    @router.get("", summary="List alerts, newest first (filter by status and deployment)")
    async def list_alerts(
        principal: Annotated[Principal, Depends(require("alerts.read"))],
        status: Annotated[list[StatusFilter] | None, Query()] = None,
        deployment_id: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    ) -> dict[str, Any]:
        wanted: list[str] = []
        for item in status or []:
            wanted += [AlertStatus.PENDING, AlertStatus.IN_REVIEW] if item == "open" else [item]
        position = await parts.db.reader().last_position()  # resume a stream from here: no gap
        rows = await parts.views.search(
            statuses=wanted, deployment_id=deployment_id, limit=limit, offset=offset
        )
        return {"alerts": rows, "position": position}

    @router.get("/stream", summary="Live alerts (Server-Sent Events); token by header or ?access_token=")
    async def stream(
        request: Request,
        principal: Annotated[Principal, Depends(stream_principal)],
        last_event_id: LastEventId = None,
        after: Annotated[int | None, Query(ge=0, description="resume after this position")] = None,
        deployment_id: str | None = None,
    ) -> StreamingResponse:
        events = alert_events(
            request,
            parts.db.reader(),
            parts.views,
            parts.changes,
            start=resume_position(after, last_event_id),
            deployment_id=deployment_id,
            heartbeat_seconds=parts.heartbeat_seconds,
            poll_seconds=parts.poll_seconds,
        )
        headers = NO_STORE | {"X-Accel-Buffering": "no"}
        return StreamingResponse(events, media_type="text/event-stream", headers=headers)

    @router.get("/counts", summary="Alerts per deployment by status and engagement outcome")
    async def counts(
        principal: Annotated[Principal, Depends(require("alerts.read"))],
        deployment_id: str | None = None,
    ) -> dict[str, Any]:
        return {"deployments": await parts.views.counts(deployment_id)}

    @router.get("/{alert_id:uuid}", summary="One alert with every decision (who, role, when)")
    async def get_alert(
        alert_id: UUID, principal: Annotated[Principal, Depends(require("alerts.read"))]
    ) -> dict[str, Any]:
        return await _view(alert_id)

    @router.get(
        "/{alert_id:uuid}/crop",
        summary="The live face crop (decrypted; operator, engagement officer)",
        response_class=Response,
    )
    async def crop(
        alert_id: UUID, principal: Annotated[Principal, Depends(require("alerts.view_media"))]
    ) -> Response:
        view = await _view(alert_id)
        stored = await parts.ctx.db.reader().read_stream(str(alert_id))
        crop_key = str(stored[0].data["crop_blob_key"])
        return _image(await parts.crops.crop(view["deployment_id"], crop_key))

    @router.get(
        "/{alert_id:uuid}/watchlist-image",
        summary="The watchlist entry's image (operator, engagement officer)",
        response_class=Response,
    )
    async def watchlist_image(
        alert_id: UUID, principal: Annotated[Principal, Depends(require("alerts.view_media"))]
    ) -> Response:
        view = await _view(alert_id)
        image = await parts.watchlist_images.entry_image(
            view["deployment_id"], view["watchlist_id"], view["entry_id"]
        )
        return _image(image)

    @router.post("/{alert_id:uuid}/review", summary="Start reviewing an alert (operator)")
    async def review(
        alert_id: UUID, principal: Annotated[Principal, Depends(require("alerts.adjudicate"))]
    ) -> dict[str, Any]:
        return await handle(c.StartReview(**_who(alert_id, principal)), parts.ctx)

    @router.post("/{alert_id:uuid}/dismiss", summary="Dismiss an alert with a reason (operator)")
    async def dismiss(
        alert_id: UUID,
        body: DismissBody,
        principal: Annotated[Principal, Depends(require("alerts.adjudicate"))],
    ) -> dict[str, Any]:
        command = c.DismissAlert(**_who(alert_id, principal), reason=body.reason, note=body.note)
        return await handle(command, parts.ctx)

    @router.post("/{alert_id:uuid}/engage", summary="Dispatch an engagement officer (operator)")
    async def engage(
        alert_id: UUID,
        body: EngageBody,
        principal: Annotated[Principal, Depends(require("alerts.adjudicate"))],
    ) -> dict[str, Any]:
        return await handle(c.EngageAlert(**_who(alert_id, principal), note=body.note), parts.ctx)

    @router.post("/{alert_id:uuid}/outcome", summary="Record the engagement's outcome and action (engagement "
                 "officer)")  # fmt: skip
    async def outcome(
        alert_id: UUID,
        body: OutcomeBody,
        principal: Annotated[Principal, Depends(require("alerts.record_engagement"))],
    ) -> dict[str, Any]:
        command = c.RecordOutcome(
            **_who(alert_id, principal),
            outcome=body.outcome,
            action=body.action,
            action_detail=body.action_detail,
            note=body.note,
        )
        return await handle(command, parts.ctx)

    return router


def _who(alert_id: UUID, principal: Principal) -> dict[str, Any]:
    return {
        "alert_id": str(alert_id),
        "actor": principal.subject,
        "role": principal.role.value,
        "correlation_id": current_correlation_id(),
    }


def _image(image: Image) -> Response:
    return Response(image.content, media_type=image.media_type, headers=NO_STORE)
