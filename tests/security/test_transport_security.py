"""Service-to-service transport security: gRPC server TLS (runtime) and client channels (grpc_security)
with a throw-away CA (tests/fixtures/pki.py), and how Kafka SASL/TLS settings become client kwargs."""

from __future__ import annotations

import ssl
from pathlib import Path
from types import SimpleNamespace

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from lfr_platform.grpc_security import is_loopback, peer_channel, secure_channel
from lfr_platform.messaging.settings import KafkaSettings
from lfr_platform.runtime import ServiceRuntime, serve, start_grpc
from lfr_platform.settings import ConfigurationError, ServiceSettings, TlsSettings
from pydantic import ValidationError

from tests.fixtures.pki import Pki


def _runtime(tls: TlsSettings) -> ServiceRuntime:
    # The app only carries settings here: start_grpc reads `app.state.settings.grpc_tls` like `serve` does.
    app = SimpleNamespace(state=SimpleNamespace(settings=ServiceSettings(grpc_tls=tls)))
    return ServiceRuntime(name="tls-test", app=app, grpc_service_names=["lfr.test.v1.Thing"])


async def _health(channel: grpc.aio.Channel) -> int:
    async with channel:
        stub = health_pb2_grpc.HealthStub(channel)
        reply = await stub.Check(health_pb2.HealthCheckRequest(service="lfr.test.v1.Thing"), timeout=10)
        return reply.status


async def test_tls_grpc_works_and_a_plaintext_client_is_refused(tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    cert, key = pki.issue("deployments", server=True)
    server, port = await start_grpc(_runtime(TlsSettings(cert_file=cert, key_file=key)), "127.0.0.1", 0)
    try:
        client = ServiceSettings(grpc_tls=TlsSettings(ca_file=pki.ca_file))
        assert (
            await _health(secure_channel(f"127.0.0.1:{port}", client))
            == health_pb2.HealthCheckResponse.SERVING
        )
        with pytest.raises(grpc.aio.AioRpcError) as plaintext:
            await _health(grpc.aio.insecure_channel(f"127.0.0.1:{port}"))
        assert plaintext.value.code() == grpc.StatusCode.UNAVAILABLE
        stranger = Pki(tmp_path, "another-ca")  # a server certificate from an unknown CA is not trusted
        with pytest.raises(grpc.aio.AioRpcError):
            await _health(
                secure_channel(
                    f"127.0.0.1:{port}", ServiceSettings(grpc_tls=TlsSettings(ca_file=stranger.ca_file))
                )
            )
    finally:
        await server.stop(grace=None)


async def test_mutual_tls_refuses_a_client_without_a_certificate_from_the_ca(tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    cert, key = pki.issue("deployments", server=True)
    tls = TlsSettings(cert_file=cert, key_file=key, ca_file=pki.ca_file)
    server, port = await start_grpc(_runtime(tls), "127.0.0.1", 0)
    try:
        client_cert, client_key = pki.issue("alerts", server=False)
        with_cert = ServiceSettings(
            grpc_tls=TlsSettings(cert_file=client_cert, key_file=client_key, ca_file=pki.ca_file)
        )
        assert (
            await _health(secure_channel(f"127.0.0.1:{port}", with_cert))
            == health_pb2.HealthCheckResponse.SERVING
        )
        without_cert = ServiceSettings(grpc_tls=TlsSettings(ca_file=pki.ca_file))
        with pytest.raises(grpc.aio.AioRpcError):
            await _health(secure_channel(f"127.0.0.1:{port}", without_cert))
        other = Pki(tmp_path, "rogue-ca")
        rogue_cert, rogue_key = other.issue("rogue", server=False)
        rogue = ServiceSettings(
            grpc_tls=TlsSettings(cert_file=rogue_cert, key_file=rogue_key, ca_file=pki.ca_file)
        )
        with pytest.raises(grpc.aio.AioRpcError):
            await _health(secure_channel(f"127.0.0.1:{port}", rogue))
    finally:
        await server.stop(grace=None)


async def test_plaintext_only_on_loopback_in_development() -> None:
    server, port = await start_grpc(_runtime(TlsSettings()), "127.0.0.1", 0)
    try:
        development = ServiceSettings()
        assert (
            await _health(secure_channel(f"127.0.0.1:{port}", development))
            == health_pb2.HealthCheckResponse.SERVING
        )
    finally:
        await server.stop(grace=None)
    with pytest.raises(ConfigurationError, match="LFR_GRPC_TLS__CA_FILE"):
        secure_channel("deployments:9101", development)
    with pytest.raises(ConfigurationError):  # a composition root's lazy channel is refused at start-up too
        peer_channel("deployments:9101", development)
    production = ServiceSettings(
        environment="production", auth={"mode": "oidc", "jwks_url": "https://idp.example/jwks"}
    )
    with pytest.raises(ConfigurationError):
        secure_channel("127.0.0.1:9101", production)
    assert [is_loopback(t) for t in ("127.0.0.1:1", "localhost:1", "[::1]:1", "dns:///localhost:1")] == [
        True
    ] * 4
    assert [is_loopback(t) for t in ("10.0.0.1:1", "deployments:9101", "127.example.com:1")] == [False] * 3


PRODUCTION = {"environment": "production", "auth": {"mode": "oidc", "jwks_url": "https://idp.example/jwks"}}


def test_production_settings_refuse_a_grpc_server_without_mutual_tls(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as plaintext:
        ServiceSettings.load(grpc_port=9101, **PRODUCTION)
    assert "LFR_GRPC_TLS__CERT_FILE, LFR_GRPC_TLS__KEY_FILE, LFR_GRPC_TLS__CA_FILE unset" in str(
        plaintext.value
    )
    pki = Pki(tmp_path)
    cert, key = pki.issue("deployments", server=True)
    with pytest.raises(ConfigurationError) as no_client_check:  # TLS, but anyone may call
        ServiceSettings.load(grpc_port=9101, grpc_tls={"cert_file": cert, "key_file": key}, **PRODUCTION)
    assert "LFR_GRPC_TLS__CA_FILE unset" in str(no_client_check.value)
    mutual = {"cert_file": cert, "key_file": key, "ca_file": pki.ca_file}
    assert ServiceSettings.load(grpc_port=9101, grpc_tls=mutual, **PRODUCTION).grpc_tls.ca_file == pki.ca_file
    assert ServiceSettings.load(grpc_port=0, **PRODUCTION).grpc_port == 0  # no server: nothing to refuse
    assert ServiceSettings.load(grpc_port=9101).grpc_port == 9101  # development: plaintext, `lfr up`


async def test_the_runtime_refuses_to_serve_grpc_in_production_without_mutual_tls() -> None:
    # The settings validated with no gRPC port, then the runtime is asked to serve one anyway.
    async def on_start() -> None:
        raise AssertionError("a start hook ran: the refusal must come before anything starts")

    app = SimpleNamespace(state=SimpleNamespace(settings=ServiceSettings(**PRODUCTION)))
    runtime = ServiceRuntime(name="probe", app=app, on_start=[on_start])
    with pytest.raises(
        ConfigurationError,
        match="probe: refusing to serve gRPC in production: "
        "LFR_GRPC_TLS__CERT_FILE, LFR_GRPC_TLS__KEY_FILE, LFR_GRPC_TLS__CA_FILE unset",
    ):
        await serve(runtime, host="127.0.0.1", http_port=0, grpc_port=9101)
    with pytest.raises(ConfigurationError, match="refusing to serve gRPC in production"):
        await start_grpc(runtime, "127.0.0.1", 0)


def test_kafka_sasl_ssl_settings_become_verified_client_kwargs(tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    settings = KafkaSettings(
        bootstrap_servers="kafka-0.kafka:9093",
        security_protocol="SASL_SSL",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="lfr-alerts",
        sasl_password="kafka-secret-value",
        ssl_ca_file=pki.ca_file,
    )
    for kwargs in (settings.producer_kwargs(), settings.consumer_kwargs("g"), settings.admin_kwargs()):
        assert kwargs["security_protocol"] == "SASL_SSL" and kwargs["sasl_mechanism"] == "SCRAM-SHA-512"
        assert kwargs["sasl_plain_username"] == "lfr-alerts"
        assert kwargs["sasl_plain_password"] == "kafka-secret-value"
        context = kwargs["ssl_context"]
        assert isinstance(context, ssl.SSLContext)
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname
    assert (
        "kafka-secret-value" not in repr(settings) and "kafka-secret-value" not in settings.model_dump_json()
    )
    assert "ssl_context" not in KafkaSettings().producer_kwargs()  # PLAINTEXT: the embedded broker
    with pytest.raises(ValidationError, match="sasl_password"):
        KafkaSettings(security_protocol="SASL_SSL", sasl_mechanism="PLAIN", sasl_username="x")
