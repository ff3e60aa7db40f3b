"""REST under /api/v1/retention: policy (read), holds (place, release, list), receipts, run-now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from lfr_platform.auth import Principal, require
from lfr_platform.clock import utc
from lfr_platform.http import current_correlation_id
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from lfr_retention.adapters.facts_sql import SqlRetentionFacts
from lfr_retention.app.enforcement import Enforcer
from lfr_retention.app.holds import HoldCommands, PlaceHold, ReleaseHold
from lfr_retention.domain.policy import RetentionPolicy

Reader = Annotated[Principal, Depends(require("retention.read"))]
HoldPlacer = Annotated[Principal, Depends(require("retention.place_hold"))]
HoldReleaser = Annotated[Principal, Depends(require("retention.release_hold"))]
Purger = Annotated[Principal, Depends(require("retention.purge"))]


@dataclass
class RetentionHttp:
    policy: RetentionPolicy
    facts: SqlRetentionFacts
    holds: HoldCommands
    enforcer: Enforcer


class PlaceHoldBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    alert_id: str = Field(min_length=1, max_length=128)
    reason: str = Field(min_length=1, max_length=2000)
    proceedings_reference: str = Field(min_length=1, max_length=200)
    expires_at: AwareDatetime


class ReleaseHoldBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=2000)


def retention_router(h: RetentionHttp) -> APIRouter:
    router = APIRouter(prefix="/retention", tags=["retention"])

    @router.get("/policies")
    async def policies(_: Reader) -> dict[str, Any]:
        return h.policy.model_dump(mode="json")

    @router.get("/holds")
    async def list_holds(_: Reader) -> dict[str, Any]:
        return {"holds": await h.facts.holds()}

    @router.post("/holds", status_code=201)
    async def place_hold(body: PlaceHoldBody, principal: HoldPlacer) -> dict[str, Any]:
        cmd = PlaceHold(body.alert_id, body.reason, body.proceedings_reference, _aware(body.expires_at))
        return await h.holds.place(cmd, principal, current_correlation_id())

    @router.post("/holds/{hold_id}/release")
    async def release_hold(
        hold_id: str,
        body: ReleaseHoldBody,
        principal: HoldReleaser,
    ) -> dict[str, Any]:
        return await h.holds.release(ReleaseHold(hold_id, body.reason), principal, current_correlation_id())

    @router.get("/receipts")
    async def receipts(
        _: Reader,
        deployment_id: Annotated[str | None, Query(max_length=128)] = None,
        limit: Annotated[int, Query(ge=1, le=5000)] = 500,
    ) -> dict[str, Any]:
        return {"receipts": await h.facts.receipts(deployment_id, limit)}

    @router.post("/run")
    async def run_now(principal: Purger) -> dict[str, Any]:
        return (await h.enforcer.run_requested(principal, current_correlation_id())).as_dict()

    return router


def _aware(moment: datetime) -> datetime:
    return utc(moment)
