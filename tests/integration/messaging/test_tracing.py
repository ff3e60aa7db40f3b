"""One trace spans producer -> Kafka -> consumer across two services: the request in service A that
stored the event, A's relay publishing it, and B's consumer handling it."""

from __future__ import annotations

from lfr_platform.eventstore import EventMetadata, NewEvent, UnitOfWork
from lfr_platform.messaging import EventMessage
from lfr_platform.messaging.tracing import current_traceparent
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, get_current_span

from tests.fixtures.waiting import wait_until

from ._pipeline import Pipeline, record_effect


def _provider(service: str, exporter: InMemorySpanExporter) -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


async def test_consumer_span_in_one_service_is_child_of_producer_span_in_another(pipeline: Pipeline) -> None:
    exporter = InMemorySpanExporter()
    service_a, service_b = _provider("svc-a", exporter), _provider("svc-b", exporter)

    # Service A handles a request: its span's context is stored with the event.
    with service_a.get_tracer("test").start_as_current_span("POST /things", kind=SpanKind.SERVER):
        traceparent, tracestate = current_traceparent()
        async with pipeline.db.unit_of_work() as uow:
            await uow.events.append(
                "stream-1",
                "thing",
                0,
                [
                    NewEvent(
                        event_type="ThingHappened",
                        data={},
                        metadata=EventMetadata(
                            actor="t", role="r", traceparent=traceparent, tracestate=tracestate
                        ),
                    )
                ],
            )
            await uow.commit()
    await pipeline.relay(tracer_provider=service_a)

    seen_in_handler: list[int] = []

    async def handler(uow: UnitOfWork, message: EventMessage) -> None:
        seen_in_handler.append(get_current_span().get_span_context().span_id)
        await record_effect(uow, message)

    await pipeline.consumer(handler=handler, tracer_provider=service_b)

    async def handled() -> bool:
        return len(await pipeline.effects()) == 1

    await wait_until(handled, what="the event to be consumed")
    spans = {span.kind: span for span in exporter.get_finished_spans()}
    request, producer, consumer = spans[SpanKind.SERVER], spans[SpanKind.PRODUCER], spans[SpanKind.CONSUMER]

    assert _service(producer) == "svc-a" and _service(consumer) == "svc-b"
    trace_id = request.context.trace_id
    assert producer.context.trace_id == trace_id and consumer.context.trace_id == trace_id
    assert producer.parent is not None and producer.parent.span_id == request.context.span_id
    assert consumer.parent is not None and consumer.parent.span_id == producer.context.span_id
    assert consumer.parent.is_remote  # it came through the Kafka headers
    assert seen_in_handler == [consumer.context.span_id]  # the handler runs inside the consumer span
    assert producer.name == f"{pipeline.topic} publish" and consumer.name == f"{pipeline.topic} process"


def _service(span: ReadableSpan) -> object:
    assert span.resource is not None
    return span.resource.attributes.get("service.name")
