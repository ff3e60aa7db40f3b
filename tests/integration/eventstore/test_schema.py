"""Migrations: idempotent, safe when several services start at once, and in step with `tables.py`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lfr_platform.eventstore.migrations import VERSION_TABLE
from lfr_platform.eventstore.sql import SqlEventDatabase
from lfr_platform.eventstore.tables import metadata
from sqlalchemy import inspect, text


@pytest.fixture(params=["sqlite", "postgresql"])
def sql_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'events.db'}"
    new_database: Callable[[], str] = request.getfixturevalue("new_postgres_database")
    return new_database()


def _describe(sync_conn: Any) -> dict[str, Any]:
    inspector = inspect(sync_conn)
    return {
        name: {
            "columns": {c["name"]: c["nullable"] for c in inspector.get_columns(name)},
            "primary_key": inspector.get_pk_constraint(name)["constrained_columns"],
            "indexes": sorted(i["name"] for i in inspector.get_indexes(name)),
            "tables": sorted(inspector.get_table_names()),
        }
        for name in ("events", "outbox", "processed_events")
    }


async def test_concurrent_migrations_all_succeed_and_match_the_table_definitions(sql_url: str) -> None:
    databases = [SqlEventDatabase(sql_url) for _ in range(4)]
    try:
        await asyncio.gather(*(db.migrate() for db in databases))
        await databases[0].migrate()
        async with databases[0].engine.connect() as conn:
            described = await conn.run_sync(_describe)
            versions = (await conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))).all()
    finally:
        for db in databases:
            await db.dispose()

    assert versions == [("0001",)]
    for table in metadata.sorted_tables:
        found = described[table.name]
        assert found["columns"] == {c.name: c.nullable for c in table.columns}, table.name
        assert found["primary_key"] == [c.name for c in table.primary_key.columns], table.name
        assert set(found["tables"]) >= {"events", "outbox", "processed_events", VERSION_TABLE}
        expected_indexes = {i.name for i in table.indexes}
        assert expected_indexes <= set(found["indexes"]), table.name


async def test_migrations_of_several_databases_in_one_process_do_not_interfere(tmp_path: Path) -> None:
    # Alembic keeps per-run state in module globals; interleaved runs once hung here.
    databases = [SqlEventDatabase(f"sqlite+aiosqlite:///{tmp_path / f'events{i}.db'}") for i in range(6)]
    try:
        await asyncio.wait_for(asyncio.gather(*(db.migrate() for db in databases)), timeout=60)
        for db in databases:
            async with db.engine.connect() as conn:
                versions = (await conn.execute(text(f"SELECT version_num FROM {VERSION_TABLE}"))).all()
            assert versions == [("0001",)]
    finally:
        for db in databases:
            await db.dispose()
