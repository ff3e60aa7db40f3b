"""The app factory over real HTTP (httpx ASGI transport, and a real uvicorn for chunked bodies)."""

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from fastapi import APIRouter, Depends, FastAPI
from lfr_platform.auth import EmbeddedIssuer, Principal, require, route_permissions
from lfr_platform.errors import DomainRuleViolation
from lfr_platform.http import ReadinessCheck, create_app, current_correlation_id
from lfr_platform.settings import ServiceSettings
from pydantic import BaseModel

router = APIRouter(prefix="/deployments")


class DraftRequest(BaseModel):
    purpose: str
    threshold: float


@router.post("")
async def draft(body: DraftRequest, principal: Principal = Depends(require("deployments.create"))) -> dict:
    if body.threshold < 0.6:
        raise DomainRuleViolation("threshold below 0.6 needs a justification", code="threshold_unjustified")
    return {"actor": principal.subject, "role": principal.role, "correlation_id": current_correlation_id()}


@router.post("/{deployment_id}/authorise")
async def authorise(deployment_id: str, _: Principal = Depends(require("deployments.authorise"))) -> dict:
    return {"authorised": deployment_id}


@router.get("/crash")
async def crash() -> dict:
    raise RuntimeError("database password is hunter2")


@router.post("/echo-size")
async def echo_size(body: dict) -> dict:
    return {"keys": len(body)}


class Probe:
    def __init__(self) -> None:
        self.healthy = True

    async def __call__(self) -> bool:
        if not self.healthy:
            raise ConnectionRefusedError("postgres://lfr:secret@db:5432 refused")
        return True


@pytest.fixture
def settings(tmp_path: Path) -> ServiceSettings:
    return ServiceSettings(service="deployments", data_dir=tmp_path, body_limit_bytes=64 * 1024)


@pytest.fixture
def probe() -> Probe:
    return Probe()


@pytest.fixture
def app(settings: ServiceSettings, probe: Probe) -> FastAPI:
    async def hang() -> None:
        await asyncio.Event().wait()

    checks = [ReadinessCheck("database", probe), ReadinessCheck("broker", hang, timeout_seconds=0.2)]
    return create_app("deployments", [router], checks[:1], settings), create_app(
        "deployments", [router], checks, settings
    )


@pytest.fixture
async def client(app: tuple[FastAPI, FastAPI]) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app[0], raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
        yield http


@pytest.fixture
def tokens(settings: ServiceSettings) -> EmbeddedIssuer:
    return EmbeddedIssuer.load_or_create(settings.dev_key_path, settings.auth.issuer, settings.auth.audience)


def bearer(issuer: EmbeddedIssuer, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issuer.issue_token('user-1', role)}"}


def assert_error_shape(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return body["error"]


@pytest.mark.parametrize("path", ["/healthz", "/api/v1/deployments/healthz"])
async def test_liveness_needs_no_dependency(client: httpx.AsyncClient, probe: Probe, path: str) -> None:
    probe.healthy = False
    assert (await client.get(path)).json() == {"status": "ok"}


async def test_readiness_reports_which_check_failed_without_internals(client, probe: Probe) -> None:
    assert (await client.get("/api/v1/deployments/readyz")).status_code == 200
    probe.healthy = False
    for path in ("/readyz", "/api/v1/deployments/readyz"):
        error = assert_error_shape(await client.get(path), 503, "not_ready")
        assert error["details"]["checks"] == {"database": "failed (ConnectionRefusedError)"}
        assert "secret" not in error["message"]


async def test_readiness_times_out_a_hanging_dependency(app: tuple[FastAPI, FastAPI]) -> None:
    transport = httpx.ASGITransport(app=app[1])
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as http:
        error = assert_error_shape(await http.get("/readyz"), 503, "not_ready")
    assert error["details"]["checks"] == {"database": "ok", "broker": "timed out after 0.2 s"}


async def test_metrics_at_root_and_under_prefix_count_by_route_template(client, tokens) -> None:
    await client.post("/api/v1/deployments/abc/authorise", headers=bearer(tokens, "authorising_officer"))
    for path in ("/metrics", "/api/v1/deployments/metrics"):
        response = await client.get(path)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    assert 'route="/api/v1/deployments/{deployment_id}/authorise"' in response.text
    assert "abc" not in response.text


async def test_permission_allows_the_role_and_refuses_others(client, tokens) -> None:
    ok = await client.post("/api/v1/deployments/d-1/authorise", headers=bearer(tokens, "authorising_officer"))
    assert ok.json() == {"authorised": "d-1"}
    for role in ("operator", "admin", "silver_commander", "oversight"):
        response = await client.post("/api/v1/deployments/d-1/authorise", headers=bearer(tokens, role))
        error = assert_error_shape(response, 403, "forbidden")
        assert error["details"] == {"permission": "deployments.authorise", "role": role}


async def test_missing_and_invalid_tokens_are_401_with_challenge(client, tokens) -> None:
    for headers in ({}, {"Authorization": "Bearer nonsense"}, {"Authorization": "Basic dXNlcjpwdw=="}):
        response = await client.post("/api/v1/deployments/d-1/authorise", headers=headers)
        assert_error_shape(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"] == "Bearer"


async def test_correlation_id_is_propagated_into_the_handler_and_echoed(client, tokens) -> None:
    headers = {**bearer(tokens, "silver_commander"), "X-Correlation-ID": "op-7f3a"}
    response = await client.post(
        "/api/v1/deployments", json={"purpose": "p", "threshold": 0.6}, headers=headers
    )
    assert (
        response.json()["correlation_id"] == "op-7f3a" and response.headers["x-correlation-id"] == "op-7f3a"
    )
    minted = await client.post(
        "/api/v1/deployments",
        json={"purpose": "p", "threshold": 0.6},
        headers={**bearer(tokens, "silver_commander"), "X-Correlation-ID": "bad id\twith spaces"},
    )
    assert minted.json()["correlation_id"] == minted.headers["x-correlation-id"] != "bad id\twith spaces"


async def test_domain_error_maps_to_its_code(client, tokens) -> None:
    response = await client.post(
        "/api/v1/deployments",
        json={"purpose": "p", "threshold": 0.5},
        headers=bearer(tokens, "silver_commander"),
    )
    assert_error_shape(response, 422, "threshold_unjustified")


async def test_validation_errors_name_the_fields_and_not_the_input(client, tokens) -> None:
    response = await client.post(
        "/api/v1/deployments",
        json={"purpose": "SENSITIVE-VALUE", "threshold": "high"},
        headers=bearer(tokens, "silver_commander"),
    )
    error = assert_error_shape(response, 422, "invalid_input")
    assert [f["field"] for f in error["details"]["fields"]] == ["body.threshold"]
    wrong_type = await client.post(
        "/api/v1/deployments", json=[1, 2], headers=bearer(tokens, "silver_commander")
    )
    assert_error_shape(wrong_type, 422, "invalid_input")
    assert "SENSITIVE-VALUE" not in response.text


async def test_malformed_json_is_400(client, tokens) -> None:
    response = await client.post(
        "/api/v1/deployments",
        content=b'{"purpose": "p", ',
        headers={**bearer(tokens, "silver_commander"), "Content-Type": "application/json"},
    )
    error = assert_error_shape(response, 400, "invalid_input")
    assert "not valid JSON" in error["message"]


async def test_unknown_route_and_method_use_the_error_shape(client) -> None:
    assert_error_shape(await client.get("/api/v1/nowhere"), 404, "not_found")
    response = await client.delete("/healthz")
    assert_error_shape(response, 405, "method_not_allowed")
    assert "GET" in response.headers["allow"]


async def test_unexpected_exception_is_500_with_correlation_id_and_no_internals(client) -> None:
    response = await client.get("/api/v1/deployments/crash", headers={"X-Correlation-ID": "trace-me"})
    error = assert_error_shape(response, 500, "internal_error")
    assert error["details"] == {"correlation_id": "trace-me"}
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    assert (await client.get("/healthz")).status_code == 200


async def test_declared_oversize_body_is_413(client) -> None:
    response = await client.post(
        "/api/v1/deployments/echo-size",
        content=b"{" + b" " * 70_000 + b"}",
        headers={"Content-Type": "application/json"},
    )
    error = assert_error_shape(response, 413, "payload_too_large")
    assert error["details"] == {"limit_bytes": 64 * 1024}


def test_route_permissions_lists_every_operation(app: tuple[FastAPI, FastAPI]) -> None:
    table = route_permissions(app[0])
    assert table[("POST", "/api/v1/deployments")] == "deployments.create"
    assert table[("POST", "/api/v1/deployments/{deployment_id}/authorise")] == "deployments.authorise"
    assert table[("GET", "/healthz")] is None


def test_openapi_declares_bearer_security_and_error_responses(app: tuple[FastAPI, FastAPI]) -> None:
    schema = app[0].openapi()
    operation = schema["paths"]["/api/v1/deployments/{deployment_id}/authorise"]["post"]
    assert operation["security"] == [{"HTTPBearer": []}]
    assert {"401", "403", "413"} <= set(operation["responses"])


# --- a real server: chunked bodies have no Content-Length to check up front --------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def live_url(app: tuple[FastAPI, FastAPI]) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app[0], host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn exposes only a flag, no event)
        await asyncio.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


async def test_chunked_oversize_body_is_413_over_real_http(live_url: str) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"a": "'
        for _ in range(100):
            yield b"x" * 1024
        yield b'"}'

    async with httpx.AsyncClient(base_url=live_url) as http:
        response = await http.post(
            "/api/v1/deployments/echo-size", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert "content-length" not in response.request.headers
        assert_error_shape(response, 413, "payload_too_large")
        small = await http.post("/api/v1/deployments/echo-size", json={"a": 1, "b": 2})
        assert small.json() == {"keys": 2}
        assert (await http.get("/readyz")).status_code == 200
