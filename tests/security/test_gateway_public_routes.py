"""The gateway adds nothing of its own but probes, the JWKS, the console and - in development with the
embedded issuer only - the dev sign-in; the allow-list in conftest names it, this test pins it."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from lfr_cli.gateway import create_gateway
from lfr_cli.gateway_main import dev_token_issuer

from tests.security._asgi import request

GATEWAY_OWN = {("GET", "/healthz"), ("GET", "/.well-known/jwks.json"), ("GET", "/")}
DEV_ONLY = ("POST", "/auth/dev-token")


def _routes(app) -> set[tuple[str, str]]:  # type: ignore[no-untyped-def]
    return {(m, r.path) for r in app.routes if isinstance(r, APIRoute) for m in r.methods}


@pytest.mark.parametrize(
    ("environment", "mode", "dev_route"),
    [("development", "embedded", True), ("production", "embedded", False), ("development", "oidc", False)],
)
async def test_the_dev_token_route_exists_only_in_development_with_the_embedded_issuer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, environment: str, mode: str, dev_route: bool
) -> None:
    monkeypatch.setenv("LFR_ENVIRONMENT", environment)
    monkeypatch.setenv("LFR_AUTH__MODE", mode)
    monkeypatch.setenv("LFR_DATA_DIR", str(tmp_path))
    app = create_gateway({"alerts": "http://127.0.0.1:1"}, None, dev_token_issuer())
    own = {route for route in _routes(app) if not route[1].startswith("/api/v1/")}
    assert own == GATEWAY_OWN | ({DEV_ONLY} if dev_route else set())
    reply = await request(app, "POST", "/auth/dev-token", body=b'{"user": "u", "role": "admin"}',
                          headers={"content-type": "application/json"})  # fmt: skip
    assert (reply.status == 200) is dev_route, reply.status
