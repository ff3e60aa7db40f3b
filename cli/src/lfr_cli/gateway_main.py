"""`python -m lfr_cli.gateway_main`: the embedded gateway process (routes + console)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import uvicorn
from pydantic_settings import BaseSettings, SettingsConfigDict

from lfr_cli.gateway import DevTokenIssuer, create_gateway
from lfr_cli.topology import route_table


class GatewaySettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LFR_GATEWAY_")

    host: str = "127.0.0.1"
    port: int = 8000
    upstream_host: str = "127.0.0.1"
    # prefix -> upstream base URL, when services do not listen on the default ports (e.g. test stacks).
    routes: dict[str, str] = {}


def dev_token_issuer() -> DevTokenIssuer | None:
    """The console's sign-in (POST /auth/dev-token), only in development with the embedded issuer: a
    production gateway must never mint tokens (there, people sign in at the OIDC provider)."""
    if os.environ.get("LFR_ENVIRONMENT", "development") != "development":
        return None
    if os.environ.get("LFR_AUTH__MODE", "embedded") != "embedded":
        return None
    from lfr_cli.identity import issue

    data_dir = Path(os.environ.get("LFR_DATA_DIR", ".lfr-data"))

    def mint(user: str, role: str, ttl_minutes: int) -> dict[str, Any]:
        return issue(data_dir, user=user, role=role, ttl_minutes=ttl_minutes)

    return mint


def main() -> None:
    settings = GatewaySettings()
    jwks = None
    try:
        from lfr_cli.identity import embedded_jwks

        jwks = embedded_jwks()
    except ImportError:
        pass
    routes = settings.routes or route_table(host=settings.upstream_host)
    app = create_gateway(routes, jwks, dev_token_issuer())
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")


if __name__ == "__main__":
    main()
