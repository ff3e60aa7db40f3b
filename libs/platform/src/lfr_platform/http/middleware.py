"""Pure-ASGI middleware (no BaseHTTPMiddleware: it breaks contextvars and streaming)."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from lfr_platform.http.correlation import HEADER, correlation_scope, current_correlation_id
from lfr_platform.http.errors import error_response
from lfr_platform.telemetry import HttpMetrics

# stdlib logging: routed to JSON by telemetry.configure_logging; cheap when unconfigured (tests)
_log = logging.getLogger("lfr.http")
_HEADER_BYTES = HEADER.lower().encode()


class CorrelationIdMiddleware:
    """Reads or mints X-Correlation-ID, binds it for the request, and echoes it on every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, _HEADER_BYTES)
        with correlation_scope(incoming) as correlation_id:

            async def send_with_id(message: Message) -> None:
                if message["type"] == "http.response.start":
                    headers = list(message.get("headers", []))
                    if not any(name.lower() == _HEADER_BYTES for name, _ in headers):
                        headers.append((_HEADER_BYTES, correlation_id.encode()))
                    message = {**message, "headers": headers}
                await send(message)

            await self.app(scope, receive, send_with_id)


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body exceeds the limit of {limit} bytes")


class BodyLimitMiddleware:
    """Refuses bodies over `limit` bytes: by Content-Length up front, and by counting chunked bodies.

    A counted overflow raises `BodyTooLarge` out of `receive`; FastAPI re-raises HTTPExceptions from
    body parsing, so the app's handler answers 413 in the standard error shape.

    Before answering, the rest of an oversized body is read and discarded (never buffered) up to
    `drain_limit`: a client that is still sending when the server answers and closes usually sees a
    connection reset instead of the 413 explaining what went wrong. Beyond `drain_limit` the connection
    is simply closed after the answer.
    """

    def __init__(self, app: ASGIApp, limit: int, drain_limit: int | None = None) -> None:
        self.app = app
        self.limit = limit
        self.drain_limit = drain_limit if drain_limit is not None else max(8 * limit, 64 * 1024 * 1024)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await error_response(400, "invalid_input", "Content-Length is not a number")(
                    scope, receive, send
                )
                return
            if int(declared) > self.limit:
                if int(declared) <= self.drain_limit:
                    await self._drain(receive, 0)
                response = error_response(
                    413,
                    "payload_too_large",
                    f"request body of {declared} bytes exceeds the limit of {self.limit} bytes",
                    {"limit_bytes": self.limit},
                    {"Connection": "close"},
                )
                await response(scope, receive, send)
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    if message.get("more_body", False):
                        await self._drain(receive, received)
                    raise BodyTooLarge(self.limit)
            return message

        await self.app(scope, counting_receive, send)

    async def _drain(self, receive: Receive, already: int) -> None:
        total = already
        while total <= self.drain_limit:
            message = await receive()
            if message["type"] != "http.request":
                return
            total += len(message.get("body", b""))
            if not message.get("more_body", False):
                return


class UnhandledErrorMiddleware:
    """Turns an unexpected exception into 500 + correlation id, with no internals in the response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as error:
            _log.exception("unhandled %s on %s %s", type(error).__name__, scope["method"], scope["path"])
            if started:
                raise
            correlation_id = current_correlation_id()
            response = error_response(
                500,
                "internal_error",
                f"internal error; quote correlation id {correlation_id} when reporting it",
                {"correlation_id": correlation_id},
            )
            await response(scope, receive, send)


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: HttpMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        began = time.perf_counter()

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            self.metrics.observe(scope["method"], _route_template(scope), status, time.perf_counter() - began)


def _route_template(scope: Scope) -> str:
    # FastAPI >= 0.16x matches nested routers lazily and records the mounted path template here;
    # scope["route"] then holds the router-local path (without the /api/v1 prefix).
    effective: Any = scope.get("fastapi", {}).get("effective_route_context")
    route: Any = scope.get("route")
    return getattr(effective, "path", None) or getattr(route, "path", None) or "unmatched"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None
