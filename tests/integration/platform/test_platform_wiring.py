"""Readiness against a real database, and gRPC over TLS configured from settings."""

import datetime
from pathlib import Path

import grpc
import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from lfr_platform.http import create_app, database_check
from lfr_platform.settings import ConfigurationError, ServiceSettings
from lfr_platform.telemetry import grpc_server_interceptors
from sqlalchemy.ext.asyncio import create_async_engine


async def test_readiness_follows_the_real_database(tmp_path: Path) -> None:
    good = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'svc.db'}")
    missing_dir = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'no' / 'such' / 'dir' / 'svc.db'}")
    settings = ServiceSettings(service="retention", data_dir=tmp_path)
    for engine, expected in ((good, 200), (missing_dir, 503)):
        app = create_app("retention", [], [database_check(engine)], settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as http:
            response = await http.get("/readyz")
        assert response.status_code == expected, response.text
        await engine.dispose()
    assert response.json()["error"]["details"]["checks"] == {"database": "failed (OperationalError)"}


def _self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "svc.crt", directory / "svc.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_file, key_file


async def test_grpc_over_mutual_tls_from_settings(tmp_path: Path) -> None:
    cert_file, key_file = _self_signed(tmp_path)
    tls = {"cert_file": str(cert_file), "key_file": str(key_file), "ca_file": str(cert_file)}
    settings = ServiceSettings(data_dir=tmp_path, grpc_tls=tls)
    assert settings.grpc_tls.enabled

    async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return request

    handler = grpc.method_handlers_generic_handler(
        "lfr.test.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)}
    )
    server = grpc.aio.server(interceptors=grpc_server_interceptors())
    server.add_generic_rpc_handlers((handler,))
    port = server.add_secure_port("127.0.0.1:0", settings.grpc_tls.server_credentials())
    await server.start()
    try:
        secure = grpc.aio.secure_channel(f"localhost:{port}", settings.grpc_tls.channel_credentials())
        async with secure:
            assert await secure.unary_unary("/lfr.test.Echo/Echo")(b"ping", timeout=10) == b"ping"
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as plaintext:
            with pytest.raises(grpc.aio.AioRpcError):
                await plaintext.unary_unary("/lfr.test.Echo/Echo")(b"ping", timeout=5)
    finally:
        await server.stop(None)


def test_tls_cert_without_key_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="LFR_GRPC_TLS: cert_file and key_file go together"):
        ServiceSettings.load(grpc_tls={"cert_file": str(tmp_path / "a.crt")})


async def test_two_prefixes_each_get_health_and_openapi(tmp_path: Path) -> None:
    from fastapi import APIRouter

    cameras, ingest = APIRouter(prefix="/cameras"), APIRouter(prefix="/ingest")

    @cameras.get("")
    async def list_cameras() -> list[str]:
        return []

    @ingest.get("/status")
    async def status() -> dict[str, str]:
        return {"state": "idle"}

    app = create_app("ingest", [cameras, ingest], [], ServiceSettings(service="ingest", data_dir=tmp_path))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as http:
        assert (await http.get("/api/v1/cameras")).json() == []
        assert (await http.get("/api/v1/ingest/status")).json() == {"state": "idle"}
        for prefix in ("cameras", "ingest"):
            assert (await http.get(f"/api/v1/{prefix}/readyz")).status_code == 200
            document = (await http.get(f"/api/v1/{prefix}/openapi.json")).json()
            assert set(document["paths"]) == {
                "/healthz",
                "/readyz",
                "/metrics",
                "/api/v1/cameras",
                "/api/v1/ingest/status",
            }
