"""The ledger's engine: WAL SQLite (readers never wait for the single writer) or PostgreSQL."""

from __future__ import annotations

from typing import Any

from lfr_platform.eventstore.engine import SQLITE_BUSY_TIMEOUT_MS, normalise_url
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def create_ledger_engine(url: str) -> AsyncEngine:
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(parsed, pool_size=10, max_overflow=20, pool_recycle=1800)
    engine = create_async_engine(parsed, pool_size=5, max_overflow=20, pool_timeout=60)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in (
            f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
            "PRAGMA journal_mode=WAL",
            "PRAGMA synchronous=NORMAL",
        ):
            cursor.execute(pragma)
        cursor.close()

    return engine
