"""KeyRing over the SQL wrapped-key store on real SQLite and real PostgreSQL."""

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
from lfr_platform.crypto import KeyDestroyed, KeyRing, SqlWrappedKeyStore, data_keys_metadata, data_keys_table
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MASTER = bytes(range(32))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'deployments.db'}"
    else:
        new_database: Callable[[], str] = request.getfixturevalue("new_postgres_database")
        url = new_database()
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(data_keys_metadata.create_all)
    yield engine
    await engine.dispose()


async def test_keys_survive_restart_and_shredding_is_permanent(engine: AsyncEngine) -> None:
    ring = KeyRing(MASTER, SqlWrappedKeyStore(engine))
    await ring.ensure_key("dep-1", "alert_media")
    blob = await ring.seal("dep-1", "alert_media", b"crop-bytes", b"alert_media/dep-1/a")

    restarted = KeyRing(MASTER, SqlWrappedKeyStore(engine))  # a new process over the same table
    assert await restarted.open_("dep-1", "alert_media", blob, b"alert_media/dep-1/a") == b"crop-bytes"

    assert await restarted.destroy("dep-1", "alert_media") is True
    with pytest.raises(KeyDestroyed):
        await ring.open_("dep-1", "alert_media", blob, b"alert_media/dep-1/a")
    async with engine.connect() as connection:
        row = (await connection.execute(select(data_keys_table))).mappings().one()
    assert row["wrapped"] is None and row["destroyed_at"] is not None
    assert await restarted.destroy("dep-1", "alert_media") is False


async def test_concurrent_creators_agree_on_one_key(engine: AsyncEngine) -> None:
    rings = [KeyRing(MASTER, SqlWrappedKeyStore(engine)) for _ in range(5)]
    await asyncio.gather(*(ring.ensure_key("dep-2", "frames") for ring in rings))
    keys = {await ring.data_key("dep-2", "frames") for ring in rings}
    assert len(keys) == 1


async def test_destroying_a_never_created_key_leaves_a_tombstone(engine: AsyncEngine) -> None:
    ring = KeyRing(MASTER, SqlWrappedKeyStore(engine))
    assert await ring.destroy("dep-3", "watchlist_media") is False
    with pytest.raises(KeyDestroyed):
        await ring.ensure_key("dep-3", "watchlist_media")
