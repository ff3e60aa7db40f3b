"""The bar: 20 concurrent writers appending to one stream with expected versions lose and duplicate
nothing, on every backend. Each writer reads the stream, yields to the others (so their reads and writes
interleave), appends after the version it read, and on ConcurrencyError reloads and retries."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from uuid import UUID

from lfr_platform.errors import ConcurrencyError
from lfr_platform.eventstore.model import EventMetadata, NewEvent
from lfr_platform.eventstore.ports import EventDatabase

WRITERS = 20
EVENTS_PER_WRITER = 5


async def _writer(db: EventDatabase, writer: int, conflicts: list[int]) -> list[UUID]:
    appended: list[UUID] = []
    for index in range(EVENTS_PER_WRITER):
        event = NewEvent(
            event_type="Counted",
            data={"writer": writer, "index": index},
            metadata=EventMetadata(actor=f"writer-{writer}", role="operator"),
        )
        while True:
            try:
                async with db.unit_of_work() as uow:
                    version = len(await uow.events.read_stream("counter"))
                    await asyncio.sleep(0)  # let the other writers read the same version
                    await uow.events.append("counter", "tally", version, [event])
                    await uow.commit()
                break
            except ConcurrencyError:
                conflicts.append(writer)
        appended.append(event.event_id)
    return appended


async def test_twenty_concurrent_writers_lose_and_duplicate_nothing(
    make_database: Callable[[], EventDatabase],
) -> None:
    # Each writer gets its own database object (its own pool), as separate processes would.
    databases = [make_database() for _ in range(WRITERS)]
    await databases[0].migrate()
    conflicts: list[int] = []
    try:
        results = await asyncio.gather(
            *(_writer(db, number, conflicts) for number, db in enumerate(databases))
        )
        events = await databases[0].reader().read_stream("counter")
        positions = [e.position for e in await databases[0].reader().read_all(limit=10_000)]
    finally:
        for db in {id(db): db for db in databases}.values():
            await db.dispose()

    total = WRITERS * EVENTS_PER_WRITER
    assert [e.version for e in events] == list(range(1, total + 1))
    assert sorted(e.event_id for e in events) == sorted(i for ids in results for i in ids)
    assert positions == list(range(1, total + 1))
    for writer in range(WRITERS):  # each writer's own events kept their order
        mine = [e.data["index"] for e in events if e.data["writer"] == writer]
        assert mine == list(range(EVENTS_PER_WRITER))
