"""A fresh ledger database per test, on SQLite and on PostgreSQL (the shared `postgres` fixtures)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}"
    return str(request.getfixturevalue("new_postgres_database")())


@pytest.fixture
async def engine(ledger_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(ledger_url)
    try:
        yield engine
    finally:
        await engine.dispose()
