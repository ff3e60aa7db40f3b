"""Liveness, readiness and metrics endpoints, mounted at the root and under each service prefix."""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from lfr_platform.http.errors import error_response
from lfr_platform.telemetry import render_metrics

_log = logging.getLogger("lfr.readiness")

CheckFunction = Callable[[], Awaitable[Any]]


@dataclass(frozen=True)
class ReadinessCheck:
    """A named dependency probe; it passes unless it raises, returns False, or exceeds its timeout."""

    name: str
    probe: CheckFunction
    timeout_seconds: float = 3.0


def as_check(check: ReadinessCheck | CheckFunction) -> ReadinessCheck:
    if isinstance(check, ReadinessCheck):
        return check
    name = str(getattr(check, "readiness_name", None) or getattr(check, "__name__", "check"))
    return ReadinessCheck(name.removeprefix("check_"), check)


def database_check(engine: AsyncEngine, name: str = "database") -> ReadinessCheck:
    """Ready when the service's database answers `SELECT 1`."""

    async def probe() -> None:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    return ReadinessCheck(name, probe)


async def _run(check: ReadinessCheck) -> str:
    try:
        result = check.probe()
        outcome = (
            await asyncio.wait_for(result, check.timeout_seconds) if inspect.isawaitable(result) else result
        )
    except TimeoutError:
        return f"timed out after {check.timeout_seconds:g} s"
    except Exception as error:  # a probe's failure is reported, never raised
        # Full reason in the log; only the exception type leaves the service (it may quote a URL).
        _log.warning("readiness check %s failed: %s", check.name, error)
        return f"failed ({type(error).__name__})"
    return "failed" if outcome is False else "ok"


def health_router(checks: Sequence[ReadinessCheck], *, include_in_schema: bool = True) -> APIRouter:
    router = APIRouter(tags=["health"], include_in_schema=include_in_schema)

    @router.get("/healthz", summary="Liveness: the process answers (no dependencies)")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: every dependency answers", response_model=None)
    async def readyz() -> Response | dict[str, Any]:
        results = await asyncio.gather(*(_run(check) for check in checks))
        report = {check.name: result for check, result in zip(checks, results, strict=True)}
        failed = [name for name, result in report.items() if result != "ok"]
        if failed:
            return error_response(503, "not_ready", f"not ready: {', '.join(failed)}", {"checks": report})
        return {"status": "ready", "checks": report}

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics(request: Request) -> Response:
        body, content_type = render_metrics(request.app.state.metrics_registry)
        return Response(body, media_type=content_type)

    return router
