"""Every service's real app, built in-process by its own bootstrap, for the security tests.

`build(Settings.load(data_dir=tmp))` is the composition root `lfr up` uses; its `on_start` hooks (event-store
migration, read-model tables) run against SQLite in the test's directory. Background tasks (Kafka relay and
consumers, schedulers, stream readers) are not started: an HTTP request's authentication, authorisation and
input validation never depend on them, and readiness then honestly reports the broker as missing.

Services are discovered from `services/*/`, and operations from each app's OpenAPI document, so a new
service or route is covered without editing these tests.
"""

from __future__ import annotations

import contextlib
import importlib
import re
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from lfr_platform.auth import ROLES, EmbeddedIssuer, Role, route_permissions
from lfr_platform.auth.policy import PERMISSIONS
from lfr_platform.runtime import ServiceRuntime
from lfr_platform.settings import ServiceSettings, service_settings_class

REPO = Path(__file__).resolve().parents[2]
SERVICES = sorted(p.name for p in (REPO / "services").iterdir() if (p / "pyproject.toml").is_file())
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")

# Routes that answer without a token, by design (issue 9): probes, metrics, the API description, and the
# public transparency report. Anything else without a permission fails the role test.
PUBLIC_ROUTES: tuple[re.Pattern[str], ...] = tuple(
    re.compile(pattern)
    for pattern in (
        r"^(/api/v1/[a-z-]+)?/(healthz|readyz|metrics)$",
        r"^/api/v1/[a-z-]+/openapi\.json$",
        r"^/api/v1/audit/reports/\{[a-z_]+\}/public$",
    )
)


def is_public(path: str) -> bool:
    return any(pattern.match(path) for pattern in PUBLIC_ROUTES)


def build_runtime(service: str, data_dir: Path, **overrides: Any) -> tuple[ServiceRuntime, ServiceSettings]:
    build: Callable[[Any], ServiceRuntime] = importlib.import_module(f"lfr_{service}.bootstrap").build
    settings = service_settings_class(service).load(data_dir=data_dir, **overrides)
    runtime = build(settings)
    install_lifespan(runtime)
    return runtime, settings


def install_lifespan(runtime: ServiceRuntime) -> None:
    """Run the runtime's start/stop hooks as the app's lifespan (what `serve` does around uvicorn), so any
    ASGI client that speaks lifespan (ours, schemathesis's) starts the database in its own event loop."""
    app = runtime.app
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(application: Any) -> AsyncIterator[Any]:
        for hook in runtime.on_start:
            await hook()
        try:
            async with inner(application) as state:
                yield state
        finally:
            for hook in runtime.on_stop:
                with contextlib.suppress(Exception):
                    await hook()

    app.router.lifespan_context = lifespan


@dataclass
class Service:
    name: str
    runtime: ServiceRuntime
    settings: ServiceSettings
    issuer: EmbeddedIssuer

    @property
    def app(self) -> Any:
        return self.runtime.app

    def bearer(self, role: Role | str) -> dict[str, str]:
        token = self.issuer.issue_token(f"sec-{Role(role).value}", role, 600)
        return {"Authorization": f"Bearer {token}"}


@contextlib.asynccontextmanager
async def running(service: str, data_dir: Path, **overrides: Any) -> AsyncIterator[Service]:
    runtime, settings = build_runtime(service, data_dir, **overrides)
    issuer = EmbeddedIssuer.load_or_create(
        settings.dev_key_path, settings.auth.issuer, settings.auth.audience
    )
    async with runtime.app.router.lifespan_context(runtime.app):
        yield Service(service, runtime, settings, issuer)


@pytest.fixture
async def service(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Service]:
    """Parametrise indirectly: `@pytest.mark.parametrize("service", SERVICES, indirect=True)`."""
    async with running(request.param, tmp_path / request.param) as built:
        yield built


# -------------------------------------------------------------------------------- operations


@dataclass(frozen=True)
class Operation:
    method: str  # upper case
    path: str  # as in the OpenAPI document
    permission: str | None  # "*" any signed-in role, None public, KeyError-free lookup below
    spec: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.method} {self.path}"

    def allows(self, role: Role) -> bool:
        if self.permission in (None, "*"):
            return True
        return role in PERMISSIONS[self.permission].roles

    def permitted_role(self) -> Role | None:
        return next((role for role in ROLES if self.allows(role)), None)


_CONVERTOR = re.compile(r"\{([^}:]+):[^}]+\}")


def normalise(path: str) -> str:
    """Starlette route paths carry convertors (`{alert_id:uuid}`); OpenAPI paths do not."""
    return _CONVERTOR.sub(r"{\1}", path)


UNMAPPED = "<no permission mapping>"


def operations(app: Any) -> list[Operation]:
    table = {(method, normalise(path)): perm for (method, path), perm in route_permissions(app).items()}
    found = []
    for path, item in app.openapi()["paths"].items():
        for method, spec in item.items():
            if method in HTTP_METHODS:
                permission = table.get((method.upper(), path), UNMAPPED)
                found.append(Operation(method.upper(), path, permission, spec))
    return found


def hidden_routes(app: Any) -> dict[tuple[str, str], str | None]:
    """Routes that exist but are not in the OpenAPI document (still reachable, so still checked)."""
    documented = {(op.method, op.path) for op in operations(app)}
    return {
        (method, normalise(path)): perm
        for (method, path), perm in route_permissions(app).items()
        if (method, normalise(path)) not in documented
    }


def example_value(schema: dict[str, Any], name: str) -> Any:
    """A well-typed made-up value for a path or query parameter (ids that exist nowhere)."""
    schema = _first_variant(schema)
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind, fmt = schema.get("type"), schema.get("format")
    if fmt == "uuid":
        return str(uuid.uuid4())
    if fmt == "date-time":
        return "2026-01-01T00:00:00Z"
    if fmt == "date":
        return "2026-01-01"
    if kind == "integer":
        return max(int(schema.get("minimum", 1)), 1)
    if kind == "number":
        return max(float(schema.get("minimum", 1.0)), 1.0)
    if kind == "boolean":
        return False
    return f"made-up-{name}"


def _first_variant(schema: dict[str, Any]) -> dict[str, Any]:
    for key in ("anyOf", "oneOf", "allOf"):
        if key in schema:
            variants = [s for s in schema[key] if s.get("type") != "null"]
            return variants[0] if variants else {}
    return schema


def concrete(op: Operation) -> tuple[str, dict[str, Any]]:
    """The operation's path with made-up path parameters, and its required query parameters."""
    path, query = op.path, {}
    for parameter in op.spec.get("parameters", []):
        value = example_value(parameter.get("schema", {}), parameter["name"])
        if parameter["in"] == "path":
            path = path.replace("{" + parameter["name"] + "}", str(value))
        elif parameter["in"] == "query" and parameter.get("required"):
            query[parameter["name"]] = value
    return path, query


def assert_error_shape(reply: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert reply.status == status, (reply.status, reply.body[:300])
    body = reply.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error.get("code"), str) and error["code"], body
    assert isinstance(error.get("message"), str) and error["message"].strip(), body
    assert isinstance(error.get("details"), dict), body
    if code is not None:
        assert error["code"] == code, body
    return error
