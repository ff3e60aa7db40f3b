"""The FastAPI app factory every service uses: one error shape, health/readiness/metrics, body limit,
correlation ids, bearer auth wiring and OpenTelemetry.

    app = create_app("deployments", [router], [check_database, check_broker], settings)

`router` is an `APIRouter(prefix="/deployments")` (or a `("deployments", router)` pair); it is mounted at
`/api/v1/deployments`, and `/healthz`, `/readyz`, `/metrics` answer both at the root and under that prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse

from lfr_platform.auth.tokens import TokenVerifier
from lfr_platform.http.correlation import HEADER as CORRELATION_HEADER
from lfr_platform.http.correlation import correlation_scope, current_correlation_id
from lfr_platform.http.errors import ERROR_RESPONSES, ErrorBody, error_response, install_error_handlers
from lfr_platform.http.health import CheckFunction, ReadinessCheck, as_check, database_check, health_router
from lfr_platform.http.middleware import (
    BodyLimitMiddleware,
    CorrelationIdMiddleware,
    MetricsMiddleware,
    UnhandledErrorMiddleware,
)
from lfr_platform.http.server import serve
from lfr_platform.settings import ServiceSettings
from lfr_platform.telemetry import HttpMetrics, configure_tracing, instrument_fastapi, new_registry

API_ROOT = "/api/v1"

__all__ = [
    "API_ROOT",
    "CORRELATION_HEADER",
    "ErrorBody",
    "ReadinessCheck",
    "correlation_scope",
    "create_app",
    "database_check",
    "current_correlation_id",
    "error_response",
    "serve",
]


def create_app(
    service: str,
    prefix_routers: Sequence[APIRouter | tuple[str, APIRouter]],
    readiness_checks: Sequence[ReadinessCheck | CheckFunction],
    settings: ServiceSettings,
    lifespan: Any = None,
    *,
    token_verifier: TokenVerifier | None = None,
    version: str = "0.1.0",
) -> FastAPI:
    app = FastAPI(
        title=f"LFR {service} service",
        version=version,
        lifespan=lifespan,
        openapi_url=f"{API_ROOT}/{_first_prefix(prefix_routers, service)}/openapi.json",
        docs_url=f"{API_ROOT}/{_first_prefix(prefix_routers, service)}/docs",
        redoc_url=None,
    )
    app.state.service = service
    app.state.settings = settings
    app.state.token_verifier = token_verifier or TokenVerifier.from_settings(settings)
    app.state.metrics_registry = new_registry()
    install_error_handlers(app)

    checks = [as_check(check) for check in readiness_checks]
    app.include_router(health_router(checks))
    mounted = _normalise(prefix_routers)
    # Health routes first: a service route such as GET /{deployment_id} must not swallow /readyz.
    for prefix in dict.fromkeys(prefix for prefix, _, _ in mounted):
        app.include_router(health_router(checks, include_in_schema=False), prefix=f"{API_ROOT}/{prefix}")
    for _prefix, mount_at, router in mounted:
        app.include_router(router, prefix=mount_at, responses=ERROR_RESPONSES)
    for prefix, _, _ in mounted[1:]:  # e.g. ingest's /api/v1/ingest next to /api/v1/cameras, via the gateway
        _serve_openapi_under(app, f"{API_ROOT}/{prefix}/openapi.json")

    # add_middleware wraps: the last added runs first. Outermost: correlation id, so everything after
    # (metrics, limits, the 500 handler, logs) sees it.
    app.add_middleware(UnhandledErrorMiddleware)
    app.add_middleware(BodyLimitMiddleware, limit=settings.body_limit_bytes)
    app.add_middleware(MetricsMiddleware, metrics=HttpMetrics(app.state.metrics_registry, service))
    app.add_middleware(CorrelationIdMiddleware)

    configure_tracing(service, settings.otlp_endpoint)
    instrument_fastapi(app)
    return app


def _normalise(items: Sequence[APIRouter | tuple[str, APIRouter]]) -> list[tuple[str, str, APIRouter]]:
    """-> (service prefix, where to mount the router, router). A router's own prefix is part of its paths."""
    result: list[tuple[str, str, APIRouter]] = []
    for item in items:
        prefix, router = item if isinstance(item, tuple) else (item.prefix, item)
        prefix, own = prefix.strip("/"), router.prefix.strip("/")
        if not prefix:
            raise ValueError("each router needs a prefix: APIRouter(prefix='/<name>') or ('<name>', router)")
        mount_at = API_ROOT if own == prefix else f"{API_ROOT}/{prefix}"
        result.append((prefix, mount_at, router))
    return result


def _serve_openapi_under(app: FastAPI, path: str) -> None:
    async def openapi_document() -> JSONResponse:
        return JSONResponse(app.openapi())

    app.add_api_route(path, openapi_document, include_in_schema=False, methods=["GET"])


def _first_prefix(items: Sequence[APIRouter | tuple[str, APIRouter]], service: str) -> str:
    for item in items:
        prefix = (item[0] if isinstance(item, tuple) else item.prefix).strip("/")
        if prefix:
            return prefix
    return service
