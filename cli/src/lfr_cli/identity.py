"""The embedded development identity provider of `lfr up`: tokens for `lfr token`, JWKS for the gateway.

It reads the same settings as the services (LFR_AUTH__..., LFR_DATA_DIR), so a token it mints verifies in
every service of the same stack.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lfr_platform.auth import EmbeddedIssuer, Role
from lfr_platform.errors import InvalidInput
from lfr_platform.settings import ServiceSettings


def _issuer(data_dir: Path | None = None) -> EmbeddedIssuer:
    settings = ServiceSettings.load(**({"data_dir": data_dir} if data_dir is not None else {}))
    if settings.auth.mode != "embedded":
        raise InvalidInput("tokens come from your OIDC provider when LFR_AUTH__MODE=oidc")
    return EmbeddedIssuer.load_or_create(settings.dev_key_path, settings.auth.issuer, settings.auth.audience)


def issue(data_dir: Path, *, user: str, role: str, ttl_minutes: int) -> dict[str, Any]:
    valid = sorted(r.value for r in Role)
    if role not in valid:
        raise InvalidInput(f"unknown role {role!r}; choose one of: {', '.join(valid)}")
    if not user.strip():
        raise InvalidInput("the user name is empty")
    ttl = timedelta(minutes=ttl_minutes)
    token = _issuer(data_dir.resolve()).issue_token(user, role, ttl)
    return {
        "token": token,
        "user": user,
        "role": role,
        "expires_at": (datetime.now(UTC) + ttl).isoformat(timespec="seconds"),
    }


def embedded_jwks() -> dict[str, Any]:
    return _issuer().jwks()
