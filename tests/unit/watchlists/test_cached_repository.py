"""The catch-up repository: sees other writers' events, never keeps an uncommitted change."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from lfr_platform.errors import ConcurrencyError
from lfr_platform.eventstore import EventSourcedRepository, InMemoryEventDatabase
from lfr_watchlists.adapters.cached_repository import CatchUpRepository
from lfr_watchlists.domain.events import WATCHLIST_EVENTS
from lfr_watchlists.domain.watchlist import Watchlist

AT = datetime(2026, 11, 22, 9, tzinfo=UTC)
WHO = {"actor": "dc", "role": "watchlist_manager", "at": AT}


async def _committed(db: InMemoryEventDatabase, repo: CatchUpRepository[Watchlist],
                     watchlist: Watchlist) -> None:
    async with db.unit_of_work() as uow:
        await repo.save(uow.events, watchlist)
        await uow.commit()
    repo.committed(watchlist)


async def test_catches_up_with_another_writer() -> None:
    db = InMemoryEventDatabase()
    plain = EventSourcedRepository(Watchlist, WATCHLIST_EVENTS)
    cached = CatchUpRepository(plain)
    await _committed(db, cached, Watchlist.create("w", "d", "n", **WHO))
    # Another process reopens nothing but purges the list behind this one's back.
    async with db.unit_of_work() as uow:
        other = await plain.get(uow.events, "w")
        other.purge("retention", **WHO)
        await plain.save(uow.events, other)
        await uow.commit()
    async with db.unit_of_work() as uow:
        seen = await cached.get(uow.events, "w")
    assert seen.purged and seen.version == 2


async def test_a_failed_command_leaves_no_dirty_copy() -> None:
    db = InMemoryEventDatabase()
    plain = EventSourcedRepository(Watchlist, WATCHLIST_EVENTS)
    cached = CatchUpRepository(plain)
    await _committed(db, cached, Watchlist.create("w", "d", "n", **WHO))
    async with db.unit_of_work() as uow:
        dirty = await cached.get(uow.events, "w")
        dirty.purge("retention", **WHO)  # applied in memory, never committed
    async with db.unit_of_work() as uow:
        fresh = await cached.get(uow.events, "w")
    assert fresh is not dirty and not fresh.purged


async def test_concurrent_commands_do_not_share_an_instance() -> None:
    db = InMemoryEventDatabase()
    plain = EventSourcedRepository(Watchlist, WATCHLIST_EVENTS)
    cached = CatchUpRepository(plain)
    await _committed(db, cached, Watchlist.create("w", "d", "n", **WHO))
    async with db.unit_of_work() as first_uow, db.unit_of_work() as second_uow:
        first = await cached.get(first_uow.events, "w")
        second = await cached.get(second_uow.events, "w")
        assert first is not second
        first.purge("a", **WHO)
        second.purge("b", **WHO)
        await cached.save(first_uow.events, first)
        await first_uow.commit()
        cached.committed(first)
        with pytest.raises(ConcurrencyError):
            await cached.save(second_uow.events, second)
