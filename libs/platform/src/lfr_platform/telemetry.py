"""Observability in one place: JSON logs (structlog), OpenTelemetry tracing, Prometheus metrics.

Biometric data must never reach a log line: `redact_biometrics` is the last processor before rendering,
a safety net that replaces bytes values, very long base64-looking strings and values under
biometric-sounding keys (image, crop, template, frame, ...) with a marker. Counts and ids pass.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

REDACTED = "[redacted: biometric]"
_BIOMETRIC_KEY = re.compile(
    r"image|img|crop|template|frame|face|landmark|embedding|photo|jpeg|jpg|png|pixels|biometric", re.I
)
_SAFE_SUFFIXES = ("_id", "_ids", "_count", "_total", "_class", "_rate", "_seconds", "_ms", "_fps")
_BASE64ISH = re.compile(r"^[A-Za-z0-9+/=_-]+$")
_LONG_STRING = 1024


# ---------------------------------------------------------------------------------------------------------
# Logging


def redact_biometrics(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    for key in list(event_dict):
        event_dict[key] = _redact(key, event_dict[key], depth=0)
    return event_dict


def _redact(key: str, value: Any, depth: int) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return f"[redacted: {len(value)} bytes]"
    if value is None or isinstance(value, bool | int | float):
        return value
    if hasattr(value, "__array__") or hasattr(value, "tobytes"):  # numpy arrays, PIL images
        return REDACTED
    if key != "event" and _BIOMETRIC_KEY.search(key) and not key.lower().endswith(_SAFE_SUFFIXES):
        return REDACTED
    if isinstance(value, str):
        if len(value) >= _LONG_STRING and _BASE64ISH.match(value):
            return f"[redacted: {len(value)}-char encoded blob]"
        return value
    if depth < 3 and isinstance(value, dict):
        return {k: _redact(str(k), v, depth + 1) for k, v in value.items()}
    if depth < 3 and isinstance(value, list | tuple):
        return [_redact(key, v, depth + 1) for v in value]
    return value


def add_trace_context(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


def configure_logging(service: str, level: str = "INFO", *, stream: Any = None) -> None:
    """JSON lines to stdout for structlog and stdlib loggers (uvicorn, sqlalchemy, aiokafka) alike."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_trace_context,
        structlog.processors.format_exc_info,
        redact_biometrics,
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.JSONRenderer(),
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    structlog.contextvars.bind_contextvars(service=service)


def get_logger(name: str | None = None) -> Any:
    return structlog.stdlib.get_logger(name)


# ---------------------------------------------------------------------------------------------------------
# Tracing

_provider: TracerProvider | None = None


def configure_tracing(
    service: str, otlp_endpoint: str | None = None, *, exporter: SpanExporter | None = None
) -> TracerProvider:
    """Install one global TracerProvider per process (OTLP if an endpoint is configured, else no export).

    The first call wins; later calls (a second app in the same test process) reuse it, but may add an
    exporter, which is how tests capture spans in memory.
    """
    global _provider
    if _provider is None:
        _provider = TracerProvider(resource=Resource.create({"service.name": f"lfr-{service}"}))
        if otlp_endpoint:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

            _provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp_endpoint)))
        trace.set_tracer_provider(_provider)
    if exporter is not None:
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor

        _provider.add_span_processor(SimpleSpanProcessor(exporter))
    return _provider


def instrument_fastapi(app: Any) -> None:
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(
        app, tracer_provider=_provider, excluded_urls=r".*/(healthz|readyz|metrics)$"
    )


# gRPC spans record the method, status code, peer address and user agent, never a message: no request
# or response hook is installed, and those hooks are the instrumentation's only way to see a body.
# Native health calls are left out, as /healthz is on HTTP; the server side cannot wrap health's Watch
# anyway (it iterates a streaming method's result, and Watch writes to its context instead of yielding).


def _not_health() -> Any:
    from opentelemetry.instrumentation.grpc import filters

    return filters.negate(filters.health_check())


def grpc_server_interceptors() -> list[Any]:
    """Interceptors for `grpc.aio.server(interceptors=...)`: a server span per call, context from metadata."""
    from opentelemetry.instrumentation.grpc import aio_server_interceptor

    # opentelemetry-instrumentation-grpc leaves its interceptor factories unannotated.
    return [aio_server_interceptor(tracer_provider=_provider, filter_=_not_health())]  # type: ignore[no-untyped-call]


def grpc_client_interceptors() -> list[Any]:
    """Interceptors for `grpc.aio.insecure_channel/secure_channel(interceptors=...)`: a client span per
    call, its context sent in the metadata (`traceparent`) so the server's span continues the trace."""
    from opentelemetry.instrumentation.grpc import aio_client_interceptors

    # opentelemetry-instrumentation-grpc leaves its interceptor factories unannotated.
    return list(aio_client_interceptors(tracer_provider=_provider, filter_=_not_health()))  # type: ignore[no-untyped-call]


# ---------------------------------------------------------------------------------------------------------
# Metrics


def new_registry() -> CollectorRegistry:
    """A registry per app, so several apps (tests, one process per service) never collide on names."""
    return CollectorRegistry(auto_describe=True)


def render_metrics(registry: CollectorRegistry) -> tuple[bytes, str]:
    return generate_latest(registry), CONTENT_TYPE_LATEST


class HttpMetrics:
    """Request count and latency by route template (never the raw path: ids would explode cardinality)."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self.service = service
        self.requests = Counter(
            "lfr_http_requests_total",
            "HTTP requests handled",
            ["service", "method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "lfr_http_request_duration_seconds",
            "HTTP request latency",
            ["service", "method", "route"],
            registry=registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(self.service, method, route, str(status)).inc()
        self.latency.labels(self.service, method, route).observe(seconds)


class GrpcMetrics:
    """gRPC calls the caller allow-list refused (lfr_platform.grpc_authorization), by caller and method.

    Both labels are bounded: a caller is a service name or `unidentified`, a method one this server has."""

    def __init__(self, registry: CollectorRegistry, service: str) -> None:
        self.service = service
        self.refusals = Counter(
            "lfr_grpc_calls_refused_total",
            "gRPC calls refused because the calling service may not invoke the method",
            ["service", "caller", "method"],
            registry=registry,
        )

    def refused(self, caller: str, method: str) -> None:
        self.refusals.labels(self.service, caller, method).inc()
