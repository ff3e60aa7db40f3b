import io
import json
import logging
from collections.abc import Iterator

import httpx
import numpy as np
import pytest
import structlog
from fastapi import APIRouter
from lfr_platform.http import create_app
from lfr_platform.settings import ServiceSettings
from lfr_platform.telemetry import (
    configure_logging,
    configure_tracing,
    get_logger,
    grpc_client_interceptors,
    grpc_server_interceptors,
    redact_biometrics,
)
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import Counter


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("testsvc", "INFO", stream=stream)
    yield stream
    root.handlers[:], root.level = saved
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def records(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_logs_are_json_lines_with_trace_ids(log_lines: io.StringIO) -> None:
    tracer = configure_tracing("testsvc").get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        get_logger("lfr.test").info("deployment halted", deployment_id="d-1", faces_processed_count=12)
        logging.getLogger("uvicorn.error").warning("stdlib logger %s", "too")
    ours, stdlib = records(log_lines)
    context = span.get_span_context()
    assert ours["event"] == "deployment halted" and ours["service"] == "testsvc" and ours["level"] == "info"
    assert ours["trace_id"] == format(context.trace_id, "032x")
    assert ours["span_id"] == format(context.span_id, "016x")
    assert ours["faces_processed_count"] == 12 and ours["deployment_id"] == "d-1"
    assert stdlib["event"] == "stdlib logger too" and stdlib["trace_id"] == ours["trace_id"]


def test_biometric_looking_values_never_reach_the_log(log_lines: io.StringIO) -> None:
    get_logger().info(
        "upload received",
        image=b"\xff\xd8\xff\xe0jpeg-bytes",
        crop="c3VzcGVjdA==",
        template=[0.1, 0.2, 0.3],
        payload=bytearray(b"raw"),
        embedding_vector=np.zeros(512, dtype=np.float32),
        nested={"frame": "pixels", "camera_id": "cam-1"},
        note="A" * 4096,
        crop_blob_id="alert_media/d/1",
        face_count=3,
    )
    (record,) = records(log_lines)
    text = json.dumps(record)
    assert (
        "jpeg-bytes" not in text and "c3VzcGVjdA" not in text and "0.2" not in text and "pixels" not in text
    )
    assert record["image"].startswith("[redacted")
    assert record["payload"] == "[redacted: 3 bytes]"
    assert record["nested"] == {"frame": "[redacted: biometric]", "camera_id": "cam-1"}
    assert record["note"].startswith("[redacted: 4096-char")
    assert record["crop_blob_id"] == "alert_media/d/1" and record["face_count"] == 3


def test_processor_alone_redacts_bytes_under_any_key() -> None:
    event = redact_biometrics(None, "info", {"event": "x", "anything": b"\x00\x01"})
    assert event == {"event": "x", "anything": "[redacted: 2 bytes]"}


async def test_fastapi_requests_produce_server_spans(tmp_path) -> None:
    exporter = InMemorySpanExporter()
    configure_tracing("testsvc", exporter=exporter)
    router = APIRouter(prefix="/audit")

    @router.get("/ping")
    async def ping() -> dict:
        return {"trace_id": format(trace.get_current_span().get_span_context().trace_id, "032x")}

    app = create_app("audit", [router], [], ServiceSettings(service="audit", data_dir=tmp_path))
    Counter("lfr_audit_ledger_appends_total", "appends", registry=app.state.metrics_registry).inc()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as client:
        body = (await client.get("/api/v1/audit/ping")).json()
        await client.get("/healthz")
        metrics = (await client.get("/api/v1/audit/metrics")).text
    server_spans = [s for s in exporter.get_finished_spans() if s.kind == trace.SpanKind.SERVER]
    assert [s.name for s in server_spans] == ["GET /api/v1/audit/ping"]  # probes are not traced
    assert format(server_spans[0].context.trace_id, "032x") == body["trace_id"]
    assert "lfr_audit_ledger_appends_total 1.0" in metrics


def test_grpc_interceptors_are_available() -> None:
    assert grpc_server_interceptors() and grpc_client_interceptors()
