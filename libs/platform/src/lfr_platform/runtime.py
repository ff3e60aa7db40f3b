"""Runs one service: its HTTP app, its gRPC server (with native gRPC health) and its background tasks
(outbox relay, Kafka consumers, schedulers) in one event loop, and stops them all cleanly on SIGTERM/SIGINT.

A service's bootstrap builds a `ServiceRuntime`; `__main__` hands it to `serve`. Nothing here knows what a
service does.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from typing import Any

import grpc
import structlog
import uvicorn
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from lfr_platform.grpc_authorization import CallerPolicy
from lfr_platform.http.draining import start_draining
from lfr_platform.settings import ConfigurationError, TlsSettings
from lfr_platform.telemetry import GrpcMetrics, grpc_server_interceptors

log = structlog.get_logger(__name__)

# Watchlist images travel to inference's Enrol in one message; gRPC's 4 MB default would refuse a large
# (already size-checked) upload.
GRPC_MAX_MESSAGE_BYTES = 32 * 1024 * 1024
GRPC_MESSAGE_OPTIONS = [
    ("grpc.max_receive_message_length", GRPC_MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", GRPC_MAX_MESSAGE_BYTES),
]

HTTP_DRAIN_SECONDS = 5

GrpcRegistrar = Callable[[grpc.aio.Server], None]
# Coroutine functions, not any awaitable: background jobs become asyncio tasks.
Task = Callable[[], Coroutine[Any, Any, None]]
Hook = Callable[[], Awaitable[None]]


@dataclass
class ServiceRuntime:
    name: str
    app: Any  # FastAPI
    grpc_registrars: list[GrpcRegistrar] = field(default_factory=list)
    grpc_service_names: list[str] = field(default_factory=list)
    background: list[Task] = field(default_factory=list)
    on_start: list[Hook] = field(default_factory=list)
    on_stop: list[Hook] = field(default_factory=list)
    # gRPC server TLS; None: the app's settings' `grpc_tls` (LFR_GRPC_TLS__CERT_FILE/KEY_FILE/CA_FILE).
    grpc_tls: TlsSettings | None = None


def _settings_of(runtime: ServiceRuntime) -> Any:
    return getattr(getattr(runtime.app, "state", None), "settings", None)


def grpc_tls_of(runtime: ServiceRuntime) -> TlsSettings | None:
    if runtime.grpc_tls is not None:
        return runtime.grpc_tls
    return getattr(_settings_of(runtime), "grpc_tls", None)


def refuse_plaintext_in_production(runtime: ServiceRuntime, tls: TlsSettings | None) -> None:
    """Settings validation already refuses this; the runtime checks again because `runtime.grpc_tls` (or a
    port passed to `serve`) can differ from what the settings validated."""
    if getattr(_settings_of(runtime), "environment", None) != "production":
        return
    problem = (tls or TlsSettings()).production_server_problem()
    if problem is not None:
        raise ConfigurationError(f"{runtime.name}: refusing to serve gRPC in production: {problem}")


async def start_grpc(
    runtime: ServiceRuntime, host: str, port: int, tls: TlsSettings | None = None
) -> tuple[grpc.aio.Server, int]:
    """Start the service's gRPC server (+ native health); -> (server, bound port).

    With a server certificate configured it listens with TLS only (and, when `ca_file` is set, requires
    a client certificate signed by it: mutual TLS, and then answers only what `lfr_platform.grpc_policy`
    lets the caller's service call); otherwise plaintext, as in the embedded stack. In production anything
    short of mutual TLS is a ConfigurationError: no server starts. Every call gets a server span.
    """
    tls = tls if tls is not None else grpc_tls_of(runtime)
    refuse_plaintext_in_production(runtime, tls)
    server = grpc.aio.server(options=GRPC_MESSAGE_OPTIONS, interceptors=grpc_interceptors(runtime, tls))
    for register in runtime.grpc_registrars:
        register(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    address = f"{host}:{port}"
    if tls is not None and tls.cert_file is not None:
        bound = server.add_secure_port(address, tls.server_credentials())
        log.info("grpc listening with TLS", service=runtime.name, mutual=tls.ca_file is not None)
    else:
        bound = server.add_insecure_port(address)
        log.info("grpc listening without TLS", service=runtime.name)
    await server.start()
    for name in ["", *runtime.grpc_service_names]:
        await health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    return server, bound


def grpc_interceptors(runtime: ServiceRuntime, tls: TlsSettings | None) -> list[Any]:
    """Tracing first (a refused call still leaves a span with its status), then, under mutual TLS, the
    caller allow-list. Without mutual TLS no caller is verified and every call is answered: that is only
    the embedded stack (development, loopback, one user's processes), since production refuses to serve
    gRPC without it."""
    interceptors = grpc_server_interceptors()
    if tls is not None and tls.cert_file is not None and tls.ca_file is not None:
        interceptors.append(CallerPolicy(runtime.name, _grpc_metrics(runtime)))
    else:
        log.info("grpc callers not checked: no mutual TLS", service=runtime.name)
    return interceptors


def _grpc_metrics(runtime: ServiceRuntime) -> GrpcMetrics | None:
    """One `GrpcMetrics` per app registry (a test may start a runtime's server more than once)."""
    state = getattr(runtime.app, "state", None)
    registry = getattr(state, "metrics_registry", None)
    if registry is None:
        return None
    metrics = getattr(state, "grpc_metrics", None)
    if not isinstance(metrics, GrpcMetrics):
        metrics = GrpcMetrics(registry, runtime.name)
        state.grpc_metrics = metrics  # type: ignore[union-attr]  # state is not None: it has a registry
    return metrics


async def _start_grpc(runtime: ServiceRuntime, host: str, port: int) -> grpc.aio.Server:
    server, _ = await start_grpc(runtime, host, port)
    return server


class _HttpServer(uvicorn.Server):
    """uvicorn's server without its signal handling: `serve` owns shutdown, so SIGTERM stops gRPC, the
    background tasks and the hooks in order rather than only the HTTP server."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(runtime: ServiceRuntime, *, host: str, http_port: int, grpc_port: int | None) -> int:
    """Serve until SIGTERM/SIGINT; returns the process exit code (1 when a task failed)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)

    if grpc_port:  # before any start hook touches the database: a refused server starts nothing
        refuse_plaintext_in_production(runtime, grpc_tls_of(runtime))
    for hook in runtime.on_start:
        await hook()
    grpc_server = await _start_grpc(runtime, host, grpc_port) if grpc_port else None
    config = uvicorn.Config(
        runtime.app,
        host=host,
        port=http_port,
        log_config=None,
        access_log=False,
        lifespan="on",
        # Backstop for a long response that does not watch `draining` (see lfr_platform.http.draining).
        timeout_graceful_shutdown=HTTP_DRAIN_SECONDS,
    )
    http_server = _HttpServer(config)
    tasks = [asyncio.create_task(http_server.serve(), name=f"{runtime.name}-http")]
    tasks += [
        asyncio.create_task(job(), name=f"{runtime.name}-bg-{i}") for i, job in enumerate(runtime.background)
    ]
    log.info("service started", service=runtime.name, http_port=http_port, grpc_port=grpc_port)

    stopper = asyncio.create_task(stop.wait())
    waiting: set[asyncio.Task[Any]] = {stopper, *tasks}
    while True:
        done, waiting = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        # A one-off background job (e.g. rebuilding an index at start) may finish; the service goes on.
        # The service stops on a signal, when its HTTP server ends, or when a task fails.
        failed = [t for t in done if t is not stopper and not t.cancelled() and t.exception() is not None]
        for task in failed:
            log.error(
                "service task failed",
                service=runtime.name,
                task=task.get_name(),
                error=repr(task.exception()),
            )
        if stopper in done or tasks[0] in done or failed:
            break
    start_draining(runtime.app)  # event streams end now, or uvicorn would wait for their clients
    http_server.should_exit = True
    for task in tasks[1:]:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    if grpc_server is not None:
        await grpc_server.stop(grace=2)
    for hook in runtime.on_stop:
        with contextlib.suppress(Exception):
            await hook()
    stopper.cancel()
    log.info("service stopped", service=runtime.name, failed=bool(failed))
    return 1 if failed else 0
