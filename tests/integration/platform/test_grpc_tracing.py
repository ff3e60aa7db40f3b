"""A trace crosses a gRPC hop: a peer channel (`lfr_platform.grpc_security.peer_channel`) sends the
caller's span context, and the runtime's server (`start_grpc`) continues it in a server span that is
current while the servicer runs. Neither span records the message: face images travel over these calls."""

from __future__ import annotations

from types import SimpleNamespace

import grpc
from lfr_platform.grpc_security import peer_channel
from lfr_platform.runtime import ServiceRuntime, start_grpc
from lfr_platform.settings import ServiceSettings
from lfr_platform.telemetry import configure_tracing
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

METHOD = "/lfr.test.v1.Probe/Echo"
IMAGE = b"\xff\xd8\xff\xe0" + b"face-pixels-never-in-a-span" * 8


async def test_a_grpc_call_continues_the_callers_trace_without_recording_the_message() -> None:
    exporter = InMemorySpanExporter()
    tracer = configure_tracing("grpc-tracing-test", exporter=exporter).get_tracer("test")
    seen_by_servicer: list[trace.SpanContext] = []

    async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        seen_by_servicer.append(trace.get_current_span().get_span_context())
        return request

    def register(server: grpc.aio.Server) -> None:
        handler = grpc.unary_unary_rpc_method_handler(echo)
        server.add_generic_rpc_handlers(
            [grpc.method_handlers_generic_handler("lfr.test.v1.Probe", {"Echo": handler})]
        )

    settings = ServiceSettings()
    runtime = ServiceRuntime(name="probe", app=SimpleNamespace(state=SimpleNamespace(settings=settings)))
    runtime.grpc_registrars.append(register)
    server, port = await start_grpc(runtime, "127.0.0.1", 0)
    channel = peer_channel(f"127.0.0.1:{port}", settings)
    try:
        with tracer.start_as_current_span("POST /api/v1/watchlists/{id}/entries") as parent:
            assert await channel.unary_unary(METHOD)(IMAGE, timeout=10) == IMAGE
    finally:
        await channel.close()
        await server.stop(grace=None)

    spans = [
        s for s in exporter.get_finished_spans() if s.context.trace_id == parent.get_span_context().trace_id
    ]
    [client] = [s for s in spans if s.kind == trace.SpanKind.CLIENT]
    [server_span] = [s for s in spans if s.kind == trace.SpanKind.SERVER]
    assert client.name == METHOD and client.parent is not None
    assert client.parent.span_id == parent.get_span_context().span_id
    assert server_span.parent is not None and server_span.parent.span_id == client.context.span_id
    assert server_span.parent.is_remote  # it came in the call's metadata
    assert [c.span_id for c in seen_by_servicer] == [server_span.context.span_id]
    assert server_span.attributes is not None and server_span.attributes["rpc.method"] == "Echo"
    for span in (client, server_span):
        recorded = repr(dict(span.attributes or {})) + repr([e.attributes for e in span.events])
        assert "face-pixels" not in recorded and "\\xff\\xd8" not in recorded
