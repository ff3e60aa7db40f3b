"""REST: `/api/v1/inference/status` — per deployment, counts only (no biometric data)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from lfr_platform.auth import Principal, require

from lfr_inference.app.status import StatusQuery


def status_router(query: StatusQuery) -> APIRouter:
    router = APIRouter(prefix="/inference", tags=["inference"])

    @router.get("/status")
    async def status(principal: Annotated[Principal, Depends(require("inference.read"))]) -> dict[str, Any]:
        return query.status()

    return router
