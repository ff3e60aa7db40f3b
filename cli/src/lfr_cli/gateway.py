"""The one HTTP entrypoint of the embedded stack: routes /api/v1/<prefix>/... to the owning service (as the
Kubernetes ingress does) and serves the operator console at /.

It adds nothing of its own to a request: authentication and authorisation happen in each service.
Responses are streamed so Server-Sent Events (live alerts, audit stream) pass straight through.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask

CONSOLE_DIR = Path(__file__).parent / "console"
# Hop-by-hop headers (RFC 9110 §7.6.1) must not be forwarded by a proxy.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
}


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, "details": {}}}, status_code=status)


# (user, role, ttl_minutes) -> {"token", "user", "role", "expires_at"}; see `dev_token_issuer`.
DevTokenIssuer = Callable[[str, str, int], dict[str, Any]]


class DevTokenRequest(BaseModel):
    user: str = Field(min_length=1, max_length=128)
    role: str
    ttl_minutes: int = Field(default=120, ge=1, le=720)


def create_gateway(
    routes: dict[str, str],
    jwks: dict[str, Any] | None = None,
    dev_tokens: DevTokenIssuer | None = None,
) -> FastAPI:
    """`dev_tokens` is given only in development with the embedded issuer (gateway_main decides): it adds
    POST /auth/dev-token, the console's sign-in. In production the route does not exist at all."""
    client_holder: dict[str, httpx.AsyncClient] = {}

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
        client_holder["c"] = httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=5.0), limits=limits)
        yield
        await client_holder["c"].aclose()

    app = FastAPI(title="LFR gateway", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/.well-known/jwks.json")
    async def well_known_jwks() -> Response:
        if jwks is None:
            return error(404, "not_found", "this gateway does not front an embedded identity provider")
        return JSONResponse(jwks)

    if dev_tokens is not None:

        @app.post("/auth/dev-token", include_in_schema=False)
        async def dev_token(body: DevTokenRequest) -> Response:
            from lfr_platform.errors import LfrError

            try:
                return JSONResponse(dev_tokens(body.user.strip(), body.role, body.ttl_minutes))
            except LfrError as problem:
                return error(problem.http_status, problem.code, problem.message)

    @app.api_route("/api/v1/{prefix}/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    @app.api_route("/api/v1/{prefix}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
    async def proxy(request: Request, prefix: str, rest: str = "") -> Response:
        upstream = routes.get(prefix)
        if upstream is None:
            return error(404, "unknown_service", f"no service serves /api/v1/{prefix}")
        url = f"{upstream}{request.url.path}"
        if request.url.query:
            url = f"{url}?{request.url.query}"
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        client = client_holder["c"]
        upstream_request = client.build_request(
            request.method, url, headers=headers, content=request.stream()
        )
        try:
            upstream_response = await client.send(upstream_request, stream=True)
        except httpx.TransportError:
            return error(503, "service_unavailable", f"the {prefix} service is not reachable")
        response_headers = {k: v for k, v in upstream_response.headers.items() if k.lower() not in HOP_BY_HOP}
        return StreamingResponse(
            upstream_response.aiter_raw(),
            status_code=upstream_response.status_code,
            headers=response_headers,
            background=BackgroundTask(upstream_response.aclose),
        )

    if CONSOLE_DIR.exists():
        app.mount("/static", StaticFiles(directory=CONSOLE_DIR), name="console")

        @app.get("/")
        async def console() -> FileResponse:
            return FileResponse(CONSOLE_DIR / "index.html")

    return app
