"""The gRPC server side of `lfr_platform.grpc_policy`: a call whose verified client certificate names a
service the allow-list does not list for the method ends with PERMISSION_DENIED before the servicer runs.

`lfr_platform.runtime.start_grpc` installs `CallerPolicy` on every server that runs with mutual TLS (as
production must). Without it there is no verified caller to check: the embedded stack (`lfr up`, the
tests) serves plaintext on 127.0.0.1 to one user's own processes, and only in development.

A grpc.aio server interceptor sees the method but not the call's auth context, so the check wraps the
method's handler: it runs first inside the call, where `context.auth_context()` is available. The caller it
verified stays known for the rest of the call (`verified_caller()`), for a servicer that narrows further
(the deployments service's GetDataKey, per data class) without reading the certificate again.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import grpc
import structlog

from lfr_platform.grpc_policy import caller_service, may_call
from lfr_platform.telemetry import GrpcMetrics

log = structlog.get_logger(__name__)

Check = Callable[[grpc.aio.ServicerContext], Awaitable[None]]

# grpc.aio runs each call in its own task, and the check runs in the handler's coroutine: a value set there
# is the call's alone.
_caller: ContextVar[str | None] = ContextVar("lfr_grpc_verified_caller", default=None)


def verified_caller() -> str | None:
    """The service `CallerPolicy` verified for the current call; None where no policy runs (plaintext
    development, where there is no caller to verify)."""
    return _caller.get()


@dataclass(frozen=True, slots=True)
class PeerCertificate:
    """What the TLS handshake verified about a caller: its DNS names and common name (no key material)."""

    dns_names: tuple[str, ...]
    common_name: str | None

    @classmethod
    def of(cls, context: grpc.aio.ServicerContext) -> PeerCertificate:
        auth = context.auth_context()
        common = [value.decode(errors="replace") for value in auth.get("x509_common_name", [])]
        return cls(
            tuple(value.decode(errors="replace") for value in auth.get("peer_dns", [])),
            common[0] if common else None,
        )

    @property
    def service(self) -> str | None:
        return caller_service(self.dns_names, self.common_name)

    def describe(self) -> str:
        names = ", ".join(self.dns_names) or "none"
        return f"DNS names {names}; common name {self.common_name or 'none'}"


class CallerPolicy(grpc.aio.ServerInterceptor):  # type: ignore[misc]  # grpc is untyped (Any)
    """Refuses a call the allow-list does not grant the caller; logs and counts each refusal."""

    def __init__(self, service: str, metrics: GrpcMetrics | None = None) -> None:
        self._service = service
        self._metrics = metrics

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler | None]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        handler = await continuation(details)
        if handler is None:  # no such method here: gRPC answers UNIMPLEMENTED
            return None
        method = details.method.decode() if isinstance(details.method, bytes) else details.method

        async def check(context: grpc.aio.ServicerContext) -> None:
            await self._check(method, context)

        return _guarded(handler, check)

    async def _check(self, method: str, context: grpc.aio.ServicerContext) -> None:
        peer = PeerCertificate.of(context)
        caller = peer.service
        if may_call(caller, method):
            _caller.set(caller)
            return
        if caller is None:
            message = f"{method} refused: the client certificate names no LFR service ({peer.describe()})"
        else:
            message = (
                f"{method} refused: the {caller} service may not call it "
                "(allow-list: lfr_platform.grpc_policy)"
            )
        log.warning(
            "grpc call refused",
            service=self._service,
            caller=caller or "unidentified",
            method=method,
            certificate=peer.describe(),
            peer=context.peer(),
        )
        if self._metrics is not None:
            self._metrics.refused(caller or "unidentified", method)
        await context.abort(grpc.StatusCode.PERMISSION_DENIED, message)


def _guarded(handler: grpc.RpcMethodHandler, check: Check) -> grpc.RpcMethodHandler:
    """`handler` with `check` awaited first in every call, whatever its streaming shape."""
    if handler.request_streaming and handler.response_streaming:
        behavior, factory = handler.stream_stream, grpc.stream_stream_rpc_method_handler
    elif handler.request_streaming:
        behavior, factory = handler.stream_unary, grpc.stream_unary_rpc_method_handler
    elif handler.response_streaming:
        behavior, factory = handler.unary_stream, grpc.unary_stream_rpc_method_handler
    else:
        behavior, factory = handler.unary_unary, grpc.unary_unary_rpc_method_handler
    return factory(
        _checked(behavior, check),
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


def _checked(behavior: Callable[..., Any], check: Check) -> Callable[..., Any]:
    # grpc.aio tells the two styles of streaming response apart by the function's kind: an async generator
    # yields its responses, a coroutine (health's Watch) writes them to the context. Keep the kind.
    if inspect.isasyncgenfunction(behavior):

        async def stream(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            await check(context)
            async for response in behavior(request, context):
                yield response

        return stream

    async def call(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await check(context)
        result = behavior(request, context)
        return await result if inspect.isawaitable(result) else result

    return call
