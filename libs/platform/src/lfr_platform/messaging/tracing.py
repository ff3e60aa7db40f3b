"""Trace context across Kafka: W3C `traceparent`/`tracestate` in message headers.

The producer span (the relay publishing an event) is the child of the request that stored the event
(its traceparent is in the event metadata); the consumer span is the child of the producer span, so one
trace runs request -> store -> Kafka -> consumer in another service. Span attributes never carry
message values (they may be biometric ciphertext).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.propagate import get_global_textmap
from opentelemetry.trace import Span, SpanKind, TracerProvider

TRACE_HEADERS = ("traceparent", "tracestate")


def tracer(provider: TracerProvider | None = None) -> trace.Tracer:
    return trace.get_tracer("lfr_platform.messaging", tracer_provider=provider)


def context_from_carrier(carrier: Mapping[str, str | None]) -> otel_context.Context:
    return get_global_textmap().extract({k: v for k, v in carrier.items() if v})


def context_from_headers(headers: Sequence[tuple[str, bytes]] | None) -> otel_context.Context:
    carrier = {k: v.decode("latin-1") for k, v in headers or () if k in TRACE_HEADERS and v}
    return context_from_carrier(carrier)


def trace_headers() -> list[tuple[str, bytes]]:
    """The current span's context as Kafka headers."""
    carrier: dict[str, str] = {}
    get_global_textmap().inject(carrier)
    return [(k, v.encode("latin-1")) for k, v in carrier.items() if k in TRACE_HEADERS]


def current_traceparent() -> tuple[str | None, str | None]:
    """For `EventMetadata(traceparent=..., tracestate=...)` when a handler appends events."""
    carrier: dict[str, str] = {}
    get_global_textmap().inject(carrier)
    return carrier.get("traceparent"), carrier.get("tracestate")


@contextmanager
def producer_span(
    topic: str, parent: otel_context.Context, provider: TracerProvider | None = None, **attributes: str
) -> Iterator[Span]:
    with tracer(provider).start_as_current_span(
        f"{topic} publish",
        context=parent,
        kind=SpanKind.PRODUCER,
        attributes={"messaging.system": "kafka", "messaging.destination.name": topic, **attributes},
    ) as span:
        yield span


@contextmanager
def consumer_span(
    topic: str,
    headers: Sequence[tuple[str, bytes]] | None,
    provider: TracerProvider | None = None,
    **attributes: str,
) -> Iterator[Span]:
    with tracer(provider).start_as_current_span(
        f"{topic} process",
        context=context_from_headers(headers),
        kind=SpanKind.CONSUMER,
        attributes={"messaging.system": "kafka", "messaging.source.name": topic, **attributes},
    ) as span:
        yield span
