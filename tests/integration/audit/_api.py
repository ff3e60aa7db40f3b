"""The audit service's HTTP app on a real uvicorn server (free port), with real JWTs from the embedded
issuer, over a real ledger (SQLite or PostgreSQL) fed through the recorder."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import uvicorn
from lfr_audit.bootstrap import AuditComponents, audit_router, build_components
from lfr_audit.settings import AuditSettings
from lfr_platform.auth import EmbeddedIssuer
from lfr_platform.clock import ManualClock
from lfr_platform.http import create_app
from lfr_platform.messaging.broker import free_port
from pydantic import SecretStr

SIGNING_SEED_HEX = bytes(range(100, 132)).hex()
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


@dataclass
class Api:
    base_url: str
    parts: AuditComponents
    issuer: EmbeddedIssuer

    def token(self, role: str, user: str | None = None) -> str:
        return self.issuer.issue_token(user or f"{role}-1", role, 600)

    def client(self, role: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.token(role)}"} if role else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30.0)


@contextlib.asynccontextmanager
async def running_api(tmp_path: Path, ledger_url: str) -> AsyncIterator[Api]:
    settings = AuditSettings(
        data_dir=tmp_path, audit_signing_key=SecretStr(SIGNING_SEED_HEX), audit_sse_heartbeat_seconds=0.5
    )
    parts = build_components(settings, ledger_url, clock=ManualClock(NOW))
    await parts.open()
    issuer = EmbeddedIssuer.load_or_create(
        settings.dev_key_path, settings.auth.issuer, settings.auth.audience
    )
    app = create_app("audit", [audit_router(parts)], [], settings)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="off")
    )
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    serving = asyncio.create_task(server.serve())
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 30
        while not server.started:
            if serving.done() or loop.time() > deadline:
                raise RuntimeError("uvicorn did not start")
            await asyncio.sleep(0.02)
        yield Api(base_url=f"http://127.0.0.1:{port}", parts=parts, issuer=issuer)
    finally:
        server.should_exit = True
        await serving
        await parts.close()
