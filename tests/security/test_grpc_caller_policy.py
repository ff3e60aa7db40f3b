"""Under mutual TLS a gRPC server answers a method only for the services `lfr_platform.grpc_policy` lists:
every caller below holds a valid certificate from the same CA (tests/fixtures/pki.py, named as
cert-manager names the services'), so TLS alone would let each of them in. The server is the runtime's
`start_grpc` serving the platform's EventLog (which only audit may read) and native health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from lfr_platform.eventlog_grpc import eventlog_registrar
from lfr_platform.eventstore import EventMetadata, InMemoryEventDatabase, NewEvent
from lfr_platform.grpc_security import secure_channel
from lfr_platform.runtime import ServiceRuntime, start_grpc
from lfr_platform.settings import ServiceSettings, TlsSettings
from lfr_platform.telemetry import new_registry
from lfr_proto.lfr.eventlog.v1 import eventlog_pb2, eventlog_pb2_grpc
from structlog.testing import capture_logs

from tests.fixtures.pki import Pki, service_dns_names

READ_EVENTS = "/lfr.eventlog.v1.EventLog/ReadEvents"


async def ingest_event_log(tls: TlsSettings) -> tuple[ServiceRuntime, grpc.aio.Server, str]:
    """The ingest service's gRPC server, as `serve` starts it, with one event in its log."""
    db = InMemoryEventDatabase()
    async with db.unit_of_work() as uow:
        event = NewEvent(
            event_type="CameraRegistered", data={}, metadata=EventMetadata(actor="a", role="admin")
        )
        await uow.events.append("camera-1", "camera", 0, [event])
        await uow.commit()
    state = SimpleNamespace(settings=ServiceSettings(grpc_tls=tls), metrics_registry=new_registry())
    runtime = ServiceRuntime(
        name="ingest", app=SimpleNamespace(state=state), grpc_registrars=[eventlog_registrar("ingest", db)]
    )
    server, port = await start_grpc(runtime, "127.0.0.1", 0)
    return runtime, server, f"127.0.0.1:{port}"


@pytest.fixture
async def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path)


@pytest.fixture
async def mutual_tls_server(pki: Pki) -> AsyncIterator[tuple[ServiceRuntime, str]]:
    cert, key = pki.issue("ingest-server", server=True, dns_names=service_dns_names("ingest"))
    runtime, server, target = await ingest_event_log(
        TlsSettings(cert_file=cert, key_file=key, ca_file=pki.ca_file)
    )
    try:
        yield runtime, target
    finally:
        await server.stop(grace=None)


def caller(pki: Pki, label: str, dns_names: list[str]) -> ServiceSettings:
    cert, key = pki.issue(label, server=False, dns_names=dns_names)
    return ServiceSettings(grpc_tls=TlsSettings(cert_file=cert, key_file=key, ca_file=pki.ca_file))


async def read_events(target: str, settings: ServiceSettings) -> Any:
    async with secure_channel(target, settings) as channel:
        stub = eventlog_pb2_grpc.EventLogStub(channel)
        return await stub.ReadEvents(eventlog_pb2.ReadEventsRequest(after_position=0), timeout=10)


async def health(target: str, settings: ServiceSettings) -> Any:
    async with secure_channel(target, settings) as channel:
        request = health_pb2.HealthCheckRequest(service="")
        return (await health_pb2_grpc.HealthStub(channel).Check(request, timeout=10)).status


def refusals(runtime: ServiceRuntime, caller: str, method: str) -> float | None:
    registry = runtime.app.state.metrics_registry
    labels = {"service": "ingest", "caller": caller, "method": method}
    return registry.get_sample_value("lfr_grpc_calls_refused_total", labels)


async def test_the_allowed_service_is_answered(
    pki: Pki, mutual_tls_server: tuple[ServiceRuntime, str]
) -> None:
    _, target = mutual_tls_server
    reply = await read_events(target, caller(pki, "audit", service_dns_names("audit")))
    assert reply.service == "ingest"
    assert [e.event_type for e in reply.events] == ["CameraRegistered"]


async def test_another_service_with_a_certificate_from_the_same_ca_is_refused(
    pki: Pki, mutual_tls_server: tuple[ServiceRuntime, str]
) -> None:
    runtime, target = mutual_tls_server
    alerts = caller(pki, "alerts", service_dns_names("alerts"))
    with capture_logs() as logs, pytest.raises(grpc.aio.AioRpcError) as refused:
        await read_events(target, alerts)
    assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert refused.value.details() == (
        f"{READ_EVENTS} refused: the alerts service may not call it (allow-list: lfr_platform.grpc_policy)"
    )
    [logged] = [entry for entry in logs if entry["event"] == "grpc call refused"]
    assert (logged["service"], logged["caller"], logged["method"]) == ("ingest", "alerts", READ_EVENTS)
    assert "BEGIN CERTIFICATE" not in repr(logged)
    assert refusals(runtime, "alerts", READ_EVENTS) == 1
    # Health is open to every service: the refusal is the method's, not the caller's connection.
    assert await health(target, alerts) == health_pb2.HealthCheckResponse.SERVING


async def test_a_certificate_naming_no_single_service_is_refused_everything(
    pki: Pki, mutual_tls_server: tuple[ServiceRuntime, str]
) -> None:
    runtime, target = mutual_tls_server
    triton = caller(pki, "triton", ["triton", "triton.lfr.svc"])  # the CA signs Triton's certificate too
    for call in (read_events, health):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call(target, triton)
        assert refused.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert "names no LFR service (DNS names triton, triton.lfr.svc; common name triton)" in (
            refused.value.details() or ""
        )
    assert refusals(runtime, "unidentified", READ_EVENTS) == 1
    both = caller(pki, "audit-and-ingest", ["audit.lfr.svc", "ingest.lfr.svc"])
    with pytest.raises(grpc.aio.AioRpcError) as ambiguous:
        await read_events(target, both)
    assert ambiguous.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_plaintext_development_is_unaffected() -> None:
    """The embedded stack serves plaintext on loopback to one user's processes: no caller to verify."""
    _, server, target = await ingest_event_log(TlsSettings())
    try:
        reply = await read_events(target, ServiceSettings())
        assert [e.event_type for e in reply.events] == ["CameraRegistered"]
    finally:
        await server.stop(grace=None)
