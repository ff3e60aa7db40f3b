"""Authentication (JWT bearer: embedded dev issuer or OIDC) and the one role x permission matrix."""

from lfr_platform.auth.dependencies import (
    authenticate,
    authenticated,
    jwks_router,
    require,
    route_permissions,
)
from lfr_platform.auth.policy import PERMISSIONS, Permission, is_allowed, permissions_of, render_markdown
from lfr_platform.auth.principal import ROLES, Principal, Role
from lfr_platform.auth.tokens import EmbeddedIssuer, TokenVerifier

__all__ = [
    "PERMISSIONS",
    "ROLES",
    "EmbeddedIssuer",
    "Permission",
    "Principal",
    "Role",
    "TokenVerifier",
    "authenticate",
    "authenticated",
    "is_allowed",
    "jwks_router",
    "permissions_of",
    "render_markdown",
    "require",
    "route_permissions",
]
