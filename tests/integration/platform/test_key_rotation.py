"""Master-key rotation of wrapped data keys on the in-memory store, real SQLite and real PostgreSQL:
two masters in one ring, re-wrap idempotence, tombstones left alone, a wrong previous key reported
without losing anything, a crash mid-run resumed, and an old table (no key-id column) brought up to date."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lfr_platform.crypto import (
    DataClass,
    InMemoryWrappedKeyStore,
    KeyDestroyed,
    KeyRing,
    MasterKeyUnavailable,
    SqlWrappedKeyStore,
    WrappedKey,
    WrappedKeyStore,
    master_key_id,
    migrate_data_keys_table,
    new_key,
    seal,
    wrap_context,
)
from lfr_platform.key_rotation import rewrap_data_keys
from sqlalchemy import Column, DateTime, LargeBinary, MetaData, String, Table, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

OLD = bytes(range(32))
NEW = bytes(range(100, 132))
WRONG = bytes(range(200, 232))


def engine_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'deployments.db'}"
    new_database: Callable[[], str] = request.getfixturevalue("new_postgres_database")
    return new_database()


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[WrappedKeyStore]:
    if request.param == "memory":
        yield InMemoryWrappedKeyStore()
        return
    engine = create_async_engine(engine_url(request.param, tmp_path, request))
    async with engine.begin() as connection:
        await connection.run_sync(migrate_data_keys_table)
    yield SqlWrappedKeyStore(engine)
    await engine.dispose()


async def populate(ring: KeyRing, deployments: int = 4) -> dict[tuple[str, DataClass], bytes]:
    """Every class of `deployments` deployments; returns the plain data keys (the test's ground truth)."""
    keys = {}
    for n in range(deployments):
        for data_class in DataClass:
            await ring.ensure_key(f"dep-{n}", data_class)
            keys[(f"dep-{n}", data_class)] = await ring.data_key(f"dep-{n}", data_class)
    return keys


async def snapshot(store: WrappedKeyStore) -> list[WrappedKey]:
    return await store.scan(None, 10_000)


async def test_a_ring_with_two_masters_reads_old_keys_and_wraps_new_ones_under_the_current(
    store: WrappedKeyStore,
) -> None:
    before = await populate(KeyRing(OLD, store), deployments=1)
    ring = KeyRing(NEW, store, previous_master_keys=[OLD])
    for (deployment_id, data_class), key in before.items():
        assert await ring.data_key(deployment_id, data_class) == key
    await ring.ensure_key("dep-new", DataClass.FRAMES)
    created = await store.get("dep-new", DataClass.FRAMES)
    assert created is not None and created.master_key_id == master_key_id(NEW)
    assert {r.master_key_id for r in await snapshot(store) if r.deployment_id == "dep-0"} == {
        master_key_id(OLD)
    }
    with pytest.raises(MasterKeyUnavailable, match=master_key_id(NEW)):
        await KeyRing(OLD, store).data_key("dep-new", DataClass.FRAMES)  # the old key alone cannot


async def test_rewrap_moves_every_live_key_to_the_current_master_and_is_idempotent(
    store: WrappedKeyStore,
) -> None:
    keys = await populate(KeyRing(OLD, store))
    ring = KeyRing(NEW, store, previous_master_keys=[OLD])

    first = await rewrap_data_keys(ring, batch_size=5)  # several batches
    assert (first.rewrapped, first.already_current, first.destroyed_skipped, first.failed) == (12, 0, 0, 0)
    assert first.current_key_id == master_key_id(NEW) and first.previous_key_ids == (master_key_id(OLD),)

    again = await rewrap_data_keys(ring, batch_size=5)
    assert (again.rewrapped, again.already_current, again.failed) == (0, 12, 0)

    only_new = KeyRing(NEW, store)  # the previous key can now be removed
    for (deployment_id, data_class), key in keys.items():
        assert await only_new.data_key(deployment_id, data_class) == key
    with pytest.raises(MasterKeyUnavailable):
        await KeyRing(OLD, store).data_key("dep-0", DataClass.FRAMES)


async def test_destroyed_keys_stay_destroyed(store: WrappedKeyStore) -> None:
    await populate(KeyRing(OLD, store), deployments=2)
    old_ring = KeyRing(OLD, store)
    await old_ring.destroy("dep-1", DataClass.ALERT_MEDIA)
    await old_ring.destroy("dep-never", DataClass.FRAMES)  # a tombstone for a key never created
    tombstones = [r for r in await snapshot(store) if r.destroyed]

    report = await rewrap_data_keys(KeyRing(NEW, store, previous_master_keys=[OLD]))
    assert (report.rewrapped, report.destroyed_skipped, report.failed) == (5, 2, 0)
    assert [r for r in await snapshot(store) if r.destroyed] == tombstones  # untouched, byte for byte
    with pytest.raises(KeyDestroyed):
        await KeyRing(NEW, store).data_key("dep-1", DataClass.ALERT_MEDIA)
    with pytest.raises(KeyDestroyed):
        await KeyRing(NEW, store).ensure_key("dep-never", DataClass.FRAMES)


async def test_a_wrong_previous_key_is_reported_and_nothing_is_lost(store: WrappedKeyStore) -> None:
    keys = await populate(KeyRing(OLD, store), deployments=1)
    before = await snapshot(store)

    report = await rewrap_data_keys(KeyRing(NEW, store, previous_master_keys=[WRONG]))
    assert (report.rewrapped, report.failed, report.ok) == (0, 3, False)
    assert {f.reason for f in report.failures} == {
        f"wrapped under master key {master_key_id(OLD)}, which is neither the current master key nor one "
        "of the previous ones this process was given"
    }
    assert {(f.deployment_id, f.data_class) for f in report.failures} == {
        ("dep-0", c.value) for c in DataClass
    }
    printed = json.dumps(report.as_dict())
    for secret in (OLD, NEW, WRONG, *keys.values()):  # ids only, never key material
        assert secret.hex() not in printed and base64.b64encode(secret).decode() not in printed
    assert await snapshot(store) == before  # not one byte changed

    fixed = await rewrap_data_keys(KeyRing(NEW, store, previous_master_keys=[WRONG, OLD]))
    assert (fixed.rewrapped, fixed.failed) == (3, 0)
    for (deployment_id, data_class), key in keys.items():
        assert await KeyRing(NEW, store).data_key(deployment_id, data_class) == key


async def test_keys_wrapped_before_ids_were_recorded_are_found_by_trying_each_master(
    store: WrappedKeyStore,
) -> None:
    data_keys = {c: new_key() for c in DataClass}
    for data_class, key in data_keys.items():  # as the first release stored them: no master key id
        wrapped = seal(OLD, key, wrap_context("dep-legacy", data_class))
        await store.add(WrappedKey("dep-legacy", data_class, wrapped, datetime.now(UTC)))

    assert await KeyRing(OLD, store).data_key("dep-legacy", DataClass.FRAMES) == data_keys[DataClass.FRAMES]
    ring = KeyRing(NEW, store, previous_master_keys=[OLD])
    assert await ring.data_key("dep-legacy", DataClass.FRAMES) == data_keys[DataClass.FRAMES]
    with pytest.raises(MasterKeyUnavailable, match="before master key ids were recorded"):
        await KeyRing(NEW, store).data_key("dep-legacy", DataClass.FRAMES)

    stamped = await rewrap_data_keys(KeyRing(OLD, store))  # same master: only the id is recorded
    assert (stamped.rewrapped, stamped.already_current, stamped.failed) == (0, 3, 0)
    assert {r.master_key_id for r in await snapshot(store)} == {master_key_id(OLD)}

    rotated = await rewrap_data_keys(ring)
    assert (rotated.rewrapped, rotated.failed) == (3, 0)
    for data_class, key in data_keys.items():
        assert await KeyRing(NEW, store).data_key("dep-legacy", data_class) == key


class CrashingStore:
    """The real store, with the process "killed" after `allowed` re-wraps (crash injection)."""

    def __init__(self, inner: WrappedKeyStore, allowed: int) -> None:
        self._inner = inner
        self._allowed = allowed

    def __getattr__(self, name: str) -> object:
        return getattr(self._inner, name)

    async def replace_wrapped(self, *args: object) -> bool:
        if self._allowed == 0:
            raise RuntimeError("killed")
        self._allowed -= 1
        return await self._inner.replace_wrapped(*args)  # type: ignore[arg-type]


async def test_a_run_killed_half_way_is_finished_by_running_again(store: WrappedKeyStore) -> None:
    keys = await populate(KeyRing(OLD, store))
    with pytest.raises(RuntimeError, match="killed"):
        await rewrap_data_keys(KeyRing(NEW, CrashingStore(store, 5), previous_master_keys=[OLD]))  # type: ignore[arg-type]
    ids = [r.master_key_id for r in await snapshot(store)]
    assert ids.count(master_key_id(NEW)) == 5 and ids.count(master_key_id(OLD)) == 7

    ring = KeyRing(NEW, store, previous_master_keys=[OLD])  # meanwhile, both kinds still open
    for (deployment_id, data_class), key in keys.items():
        assert await ring.data_key(deployment_id, data_class) == key
    resumed = await rewrap_data_keys(ring)
    assert (resumed.rewrapped, resumed.already_current, resumed.failed) == (7, 5, 0)


async def test_compare_and_set_never_overwrites_a_key_destroyed_meanwhile(store: WrappedKeyStore) -> None:
    await KeyRing(OLD, store).ensure_key("dep-0", DataClass.FRAMES)
    seen = await store.get("dep-0", DataClass.FRAMES)
    assert seen is not None and seen.wrapped is not None
    await KeyRing(OLD, store).destroy("dep-0", DataClass.FRAMES)  # retention wins the race

    assert not await store.replace_wrapped("dep-0", DataClass.FRAMES, seen.wrapped, b"x" * 60, "id")
    after = await store.get("dep-0", DataClass.FRAMES)
    assert after is not None and after.destroyed


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_a_table_from_before_key_ids_is_migrated_and_stays_readable(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    engine: AsyncEngine = create_async_engine(engine_url(backend, tmp_path, request))
    first_release = MetaData()  # the table as the first release created it
    old_table = Table(
        "data_keys",
        first_release,
        Column("deployment_id", String(64), primary_key=True),
        Column("data_class", String(32), primary_key=True),
        Column("wrapped", LargeBinary, nullable=True),
        Column("created_at", DateTime(timezone=True), nullable=False),
        Column("destroyed_at", DateTime(timezone=True), nullable=True),
    )
    key = new_key()
    try:
        async with engine.begin() as connection:
            await connection.run_sync(first_release.create_all)
            await connection.execute(
                old_table.insert().values(
                    deployment_id="dep-1",
                    data_class="frames",
                    wrapped=seal(OLD, key, wrap_context("dep-1", DataClass.FRAMES)),
                    created_at=datetime.now(UTC),
                )
            )
        for _ in range(2):  # every start runs it: the second is a no-op
            async with engine.begin() as connection:
                await connection.run_sync(migrate_data_keys_table)

        store = SqlWrappedKeyStore(engine)
        assert await KeyRing(OLD, store).data_key("dep-1", DataClass.FRAMES) == key
        report = await rewrap_data_keys(KeyRing(NEW, store, previous_master_keys=[OLD]))
        assert (report.rewrapped, report.failed) == (1, 0)
        async with engine.connect() as connection:
            row = (await connection.execute(select(old_table.c.deployment_id))).all()
        assert row == [("dep-1",)]
        assert await KeyRing(NEW, store).data_key("dep-1", DataClass.FRAMES) == key
    finally:
        await engine.dispose()
