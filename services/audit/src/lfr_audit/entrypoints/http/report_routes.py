"""Post-deployment reports: JSON, HTML or PDF (`?format=`, else the Accept header).

`GET /api/v1/audit/reports/{deployment_id}/public` is deliberately unauthenticated: the transparency
version holds no personal data and is meant for publication (listed as public in the README).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from lfr_platform.auth import Principal, require
from lfr_platform.clock import Clock

from lfr_audit.adapters.report_render import render_html, render_pdf
from lfr_audit.app.reports import ReportBuilder

Format = Literal["json", "html", "pdf"]


def _format(request: Request, requested: Format | None) -> Format:
    if requested is not None:
        return requested
    accept = request.headers.get("accept", "")
    if "application/pdf" in accept:
        return "pdf"
    if "text/html" in accept:
        return "html"
    return "json"


async def _respond(document: dict[str, Any], chosen: Format) -> Response:
    name = f"lfr-report-{document['deployment_id']}{'-public' if document['public'] else ''}"
    if chosen == "html":
        return HTMLResponse(await asyncio.to_thread(render_html, document))
    if chosen == "pdf":
        pdf = await asyncio.to_thread(render_pdf, document)
        return Response(pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'})  # fmt: skip
    return JSONResponse(document)


def report_router(builder: ReportBuilder, clock: Clock) -> APIRouter:
    router = APIRouter(tags=["audit reports"])

    @router.get("/reports/{deployment_id}", summary="Post-deployment report (JSON, HTML or PDF)")
    async def report(
        deployment_id: str,
        request: Request,
        principal: Annotated[Principal, Depends(require("reports.read"))],
        format: Annotated[Format | None, Query()] = None,  # noqa: A002 (the query parameter's name)
    ) -> Response:
        document = await builder.document(deployment_id, public=False, at=clock.now())
        return await _respond(document, _format(request, format))

    @router.get(
        "/reports/{deployment_id}/public",
        summary="Public transparency report, without personal data (no authentication)",
    )
    async def public_report(
        deployment_id: str,
        request: Request,
        format: Annotated[Format | None, Query()] = None,  # noqa: A002
    ) -> Response:
        document = await builder.document(deployment_id, public=True, at=clock.now())
        return await _respond(document, _format(request, format))

    return router
