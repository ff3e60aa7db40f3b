"""FastAPI glue: `require("<permission>")` authenticates the bearer token and checks the matrix.

    @router.post("/{deployment_id}/halt")
    async def halt(deployment_id: str, principal: Annotated[Principal, Depends(require("deployments.halt"))]):
        ...

The app factory puts the service's `TokenVerifier` on `app.state.token_verifier`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from lfr_platform.auth.policy import permission as lookup_permission
from lfr_platform.auth.principal import Principal
from lfr_platform.auth.tokens import EmbeddedIssuer, TokenVerifier
from lfr_platform.errors import Forbidden, Unauthenticated

_bearer = HTTPBearer(auto_error=False, description="JWT from the OIDC provider or `lfr token`")

PERMISSION_ATTRIBUTE = "lfr_permission"


async def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Principal:
    if credentials is None or not credentials.credentials:
        raise Unauthenticated("a bearer token is required (Authorization: Bearer <token>)")
    verifier: TokenVerifier | None = getattr(request.app.state, "token_verifier", None)
    if verifier is None:  # a wiring mistake, not the caller's: fail closed
        raise RuntimeError(
            "app.state.token_verifier is not set; build the app with lfr_platform.http.create_app"
        )
    principal = await verifier.verify(credentials.credentials)
    request.state.principal = principal
    return principal


def require(permission_name: str) -> Callable[..., Awaitable[Principal]]:
    """A dependency returning the caller's Principal if their role holds `permission_name` (else 401/403)."""
    needed = lookup_permission(permission_name)  # unknown names fail here, at import of the router

    async def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
    ) -> Principal:
        principal = await authenticate(request, credentials)
        if principal.role not in needed.roles:
            raise Forbidden(
                f"role {principal.role.value!r} lacks permission {needed.name!r}",
                details={"permission": needed.name, "role": principal.role.value},
            )
        return principal

    setattr(dependency, PERMISSION_ATTRIBUTE, needed.name)
    dependency.__name__ = f"require_{needed.name.replace('.', '_')}"
    return dependency


def authenticated() -> Callable[..., Awaitable[Principal]]:
    """A dependency for endpoints any signed-in role may call (e.g. "who am I")."""

    async def dependency(
        request: Request, credentials: HTTPAuthorizationCredentials | None = Depends(_bearer)
    ) -> Principal:
        return await authenticate(request, credentials)

    setattr(dependency, PERMISSION_ATTRIBUTE, "*")
    return dependency


def route_permissions(app: FastAPI) -> dict[tuple[str, str], str | None]:
    """(method, path) -> the permission its route requires ("*" any role, None public), for role tests."""
    table: dict[tuple[str, str], str | None] = {}
    for path, methods, dependant in _api_routes(app):
        found = [
            getattr(d.call, PERMISSION_ATTRIBUTE)
            for d in _walk(dependant)
            if hasattr(d.call, PERMISSION_ATTRIBUTE)
        ]
        for method in sorted(methods or ()):
            table[(method, path)] = found[0] if found else None
    return table


def _api_routes(app: FastAPI) -> Iterator[tuple[str, set[str] | None, Dependant]]:
    try:  # FastAPI >= 0.16x keeps included routers nested; this public helper flattens them
        from fastapi.routing import iter_route_contexts
    except ImportError:  # older FastAPI copies routes into app.routes
        for route in app.routes:
            if isinstance(route, APIRoute):
                yield route.path, route.methods, route.dependant
        return
    for context in iter_route_contexts(app.routes):
        dependant = getattr(context, "dependant", None)
        if isinstance(dependant, Dependant):
            yield str(context.path), context.methods, dependant


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    for child in dependant.dependencies:
        yield child
        yield from _walk(child)


def jwks_router(issuer: EmbeddedIssuer) -> APIRouter:
    """`GET /.well-known/jwks.json`: the embedded issuer's public key, served by the gateway in `lfr up`."""
    router = APIRouter(tags=["auth"])

    @router.get("/.well-known/jwks.json", summary="Public keys of the development token issuer")
    async def jwks() -> dict[str, list[dict[str, str]]]:
        return issuer.jwks()

    return router
