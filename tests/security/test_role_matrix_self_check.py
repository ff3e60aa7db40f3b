"""The role test's own machinery catches what it exists to catch (a test that cannot fail is a defect)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends
from lfr_platform.auth import EmbeddedIssuer, Principal, Role, require
from lfr_platform.http import create_app
from lfr_platform.settings import ServiceSettings

from tests.security._asgi import request
from tests.security.conftest import assert_error_shape, hidden_routes, is_public, operations


async def test_an_unguarded_route_and_a_guarded_one_are_told_apart(tmp_path: Path) -> None:
    router = APIRouter(prefix="/demo")

    @router.get("/guarded/{item_id}")
    async def guarded(item_id: str, who: Annotated[Principal, Depends(require("alerts.read"))]) -> dict:
        return {"item": item_id, "by": who.role.value}

    @router.get("/forgotten")
    async def forgotten() -> dict:
        return {}

    @router.get("/hidden", include_in_schema=False)
    async def hidden() -> dict:
        return {}

    settings = ServiceSettings(data_dir=tmp_path)
    app = create_app("demo", [router], [], settings)
    ops = {op.path: op for op in operations(app)}
    assert ops["/api/v1/demo/guarded/{item_id}"].permission == "alerts.read"
    assert ops["/api/v1/demo/forgotten"].permission is None and not is_public("/api/v1/demo/forgotten")
    assert hidden_routes(app)[("GET", "/api/v1/demo/hidden")] is None
    assert is_public("/healthz") and is_public("/api/v1/demo/readyz")
    assert is_public("/api/v1/audit/reports/{deployment_id}/public")

    issuer = EmbeddedIssuer.load_or_create(
        settings.dev_key_path, settings.auth.issuer, settings.auth.audience
    )
    path = "/api/v1/demo/guarded/x"
    denied = await request(
        app, "GET", path, headers={"Authorization": f"Bearer {issuer.issue_token('a', Role.ADMIN)}"}
    )
    assert_error_shape(denied, 403, "forbidden")
    allowed = await request(
        app, "GET", path, headers={"Authorization": f"Bearer {issuer.issue_token('o', Role.OPERATOR)}"}
    )
    assert allowed.status == 200 and allowed.json() == {"item": "x", "by": "operator"}
    assert_error_shape(await request(app, "GET", path), 401, "unauthenticated")
