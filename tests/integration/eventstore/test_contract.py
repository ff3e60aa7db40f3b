"""The event store contract, run against the in-memory twin, SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import uuid4

import pytest
from lfr_platform.clock import ManualClock
from lfr_platform.errors import ConcurrencyError, DuplicateEventError
from lfr_platform.eventstore.model import EventMetadata, NewEvent
from lfr_platform.eventstore.ports import EventDatabase

META = EventMetadata(actor="officer-17", role="operator")


def new(event_type: str = "Happened", **data: object) -> NewEvent:
    return NewEvent(event_type=event_type, data=data or {"n": 1}, metadata=META)


async def append_committed(db: EventDatabase, stream_id: str, stream_type: str, count: int = 1) -> None:
    async with db.unit_of_work() as uow:
        current = len(await uow.events.read_stream(stream_id))
        await uow.events.append(stream_id, stream_type, current, [new(n=i) for i in range(count)])
        await uow.commit()


async def test_appended_events_read_back_in_version_order(db: EventDatabase) -> None:
    first, second = new("Opened", title="A"), new("Renamed", title="B")
    async with db.unit_of_work() as uow:
        stored = await uow.events.append("dep-1", "deployment", 0, [first, second])
        await uow.commit()

    assert [(e.version, e.position) for e in stored] == [(1, 1), (2, 2)]
    events = await db.reader().read_stream("dep-1")
    assert events == stored
    assert [(e.event_id, e.event_type, e.data) for e in events] == [
        (first.event_id, "Opened", {"title": "A"}),
        (second.event_id, "Renamed", {"title": "B"}),
    ]
    assert [e.version for e in await db.reader().read_stream("dep-1", after_version=1)] == [2]
    assert await db.reader().read_stream("nobody") == []


async def test_a_stale_expected_version_is_a_concurrency_error_with_the_actual_version(
    db: EventDatabase,
) -> None:
    await append_committed(db, "dep-1", "deployment", count=2)
    for stale in (0, 1, 3):
        async with db.unit_of_work() as uow:
            with pytest.raises(ConcurrencyError) as caught:
                await uow.events.append("dep-1", "deployment", stale, [new()])
        assert (caught.value.expected, caught.value.actual) == (stale, 2)
    assert len(await db.reader().read_stream("dep-1")) == 2


async def test_an_event_id_is_recorded_once(db: EventDatabase) -> None:
    event = new()
    async with db.unit_of_work() as uow:
        await uow.events.append("dep-1", "deployment", 0, [event])
        await uow.commit()
    async with db.unit_of_work() as uow:
        with pytest.raises(DuplicateEventError):
            await uow.events.append("dep-2", "deployment", 0, [event])
    async with db.unit_of_work() as uow:
        twin = new()
        with pytest.raises(DuplicateEventError):
            await uow.events.append("dep-3", "deployment", 0, [twin, twin])
    assert [e.stream_id for e in await db.reader().read_all()] == ["dep-1"]


async def test_positions_are_gap_free_across_streams_and_rollbacks(db: EventDatabase) -> None:
    await append_committed(db, "dep-1", "deployment", count=2)
    async with db.unit_of_work() as uow:
        await uow.events.append("dep-2", "deployment", 0, [new(), new()])
        await uow.rollback()
    await append_committed(db, "wl-1", "watchlist", count=3)
    await append_committed(db, "dep-1", "deployment", count=1)

    events = await db.reader().read_all()
    assert [e.position for e in events] == [1, 2, 3, 4, 5, 6]
    assert [(e.stream_id, e.version) for e in events] == [
        ("dep-1", 1), ("dep-1", 2), ("wl-1", 1), ("wl-1", 2), ("wl-1", 3), ("dep-1", 3),
    ]  # fmt: skip
    assert await db.reader().last_position() == 6


async def test_read_all_pages_by_position_and_filters_by_stream_type(db: EventDatabase) -> None:
    for index in range(5):
        await append_committed(db, f"dep-{index}", "deployment")
        await append_committed(db, f"wl-{index}", "watchlist")

    reader = db.reader()
    pages, after = [], 0
    while page := await reader.read_all(after_position=after, limit=3):
        pages.append([e.position for e in page])
        after = page[-1].position
    assert pages == [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10]]

    watchlists = await reader.read_all(after_position=4, limit=2, stream_type="watchlist")
    assert [(e.stream_id, e.position) for e in watchlists] == [("wl-2", 6), ("wl-3", 8)]
    assert await reader.read_all(stream_type="camera") == []


async def test_list_streams_names_each_stream_of_a_type_once_in_creation_order(db: EventDatabase) -> None:
    await append_committed(db, "wl-b", "watchlist", count=2)
    await append_committed(db, "dep-1", "deployment")
    await append_committed(db, "wl-a", "watchlist")
    await append_committed(db, "wl-b", "watchlist")
    assert await db.reader().list_streams("watchlist") == ["wl-b", "wl-a"]
    assert await db.reader().list_streams("camera") == []


async def test_nothing_survives_a_rollback_or_an_unfinished_unit_of_work(db: EventDatabase) -> None:
    async with db.unit_of_work() as uow:
        await uow.events.append("dep-1", "deployment", 0, [new()])
        assert len(await uow.events.read_stream("dep-1")) == 1, "a unit of work reads its own writes"
        assert await db.reader().read_stream("dep-1") == [], "others do not see uncommitted events"
        await uow.rollback()
        assert await uow.events.read_stream("dep-1") == []
    async with db.unit_of_work() as uow:
        await uow.events.append("dep-1", "deployment", 0, [new()])
        await uow.mark_processed("projector", uuid4())
    assert await db.reader().read_all() == []
    assert await db.reader().last_position() == 0
    assert list(await db.outbox.pending()) == []


async def test_a_failed_block_rolls_back(db: EventDatabase) -> None:
    with pytest.raises(RuntimeError):
        async with db.unit_of_work() as uow:
            await uow.events.append("dep-1", "deployment", 0, [new()])
            raise RuntimeError("handler failed")
    assert await db.reader().read_all() == []


async def test_outbox_rows_commit_with_their_events_and_only_for_routed_streams(db: EventDatabase) -> None:
    async with db.unit_of_work() as uow:
        await uow.events.append("dep-1", "deployment", 0, [new(), new()])
        await uow.events.append("tally-1", "internal", 0, [new()])
        assert list(await db.outbox.pending()) == [], "nothing to publish before the commit"
        await uow.commit()
    async with db.unit_of_work() as uow:
        await uow.events.append("wl-1", "watchlist", 0, [new()])
        await uow.rollback()
    await append_committed(db, "wl-2", "watchlist")

    pending = list(await db.outbox.pending())
    assert [(r.topic, r.key, r.event.stream_id, r.event.version) for r in pending] == [
        ("lfr.test.deployment.v1", "dep-1", "dep-1", 1),
        ("lfr.test.deployment.v1", "dep-1", "dep-1", 2),
        ("lfr.test.watchlist.v1", "wl-2", "wl-2", 1),
    ]
    ids = [r.outbox_id for r in pending]
    assert ids == sorted(ids)
    assert pending[0].event == (await db.reader().read_stream("dep-1"))[0]
    assert [r.outbox_id for r in await db.outbox.pending(limit=2)] == ids[:2]

    await db.outbox.mark_published(ids[:2])
    assert [r.outbox_id for r in await db.outbox.pending()] == ids[2:]
    assert await db.outbox.republish_since(ids[0]) == 1
    assert [r.outbox_id for r in await db.outbox.pending()] == ids[1:]


async def test_mark_processed_recognises_a_redelivery(db: EventDatabase) -> None:
    event_id = uuid4()
    async with db.unit_of_work() as uow:
        assert await uow.mark_processed("alerts", event_id) is True
        assert await uow.mark_processed("alerts", event_id) is False
        assert await uow.mark_processed("audit", event_id) is True, "tracking is per consumer"
        await uow.commit()
    async with db.unit_of_work() as uow:
        assert await uow.mark_processed("alerts", event_id) is False

    rolled_back = uuid4()
    async with db.unit_of_work() as uow:
        assert await uow.mark_processed("alerts", rolled_back) is True
        await uow.rollback()
    async with db.unit_of_work() as uow:
        assert await uow.mark_processed("alerts", rolled_back) is True, "a rolled-back mark is forgotten"


async def test_metadata_and_json_data_round_trip(db: EventDatabase) -> None:
    metadata = EventMetadata(
        actor="officer-17",
        role="silver_commander",
        correlation_id="req-42",
        causation_id=str(uuid4()),
        traceparent="00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        tracestate="vendor=opaque",
    )
    data = {
        "title": "Stratford — Westfield ñ 顔",
        "nested": {"cameras": ["cam-1", "cam-2"], "threshold": 0.6125, "enabled": True},
        "empty": None,
        "count": 3,
    }
    event = NewEvent(event_type="DeploymentAuthorised", data=data, metadata=metadata, schema_version=3)
    async with db.unit_of_work() as uow:
        await uow.events.append("dep-1", "deployment", 0, [event])
        await uow.commit()

    (stored,) = await db.reader().read_stream("dep-1")
    assert stored.metadata == metadata
    assert stored.data == data
    assert stored.schema_version == 3
    assert stored.event_type == "DeploymentAuthorised"


async def test_times_are_aware_utc_instants(db: EventDatabase, clock: ManualClock) -> None:
    paris_summer = timezone(timedelta(hours=2))
    occurred = datetime(2026, 5, 1, 11, 0, 0, 654321, tzinfo=paris_summer)
    async with db.unit_of_work() as uow:
        await uow.events.append(
            "dep-1", "deployment", 0,
            [NewEvent(event_type="A", data={}, metadata=META, occurred_at=occurred), new()],
        )  # fmt: skip
        await uow.commit()

    explicit, defaulted = await db.reader().read_stream("dep-1")
    assert explicit.occurred_at == occurred
    assert explicit.occurred_at.utcoffset() == timedelta(0)
    assert explicit.occurred_at.hour == 9
    assert explicit.recorded_at == clock.now()
    assert defaulted.occurred_at == clock.now()
    assert all(e.recorded_at.tzinfo is not None for e in (explicit, defaulted))
    assert explicit.recorded_at.astimezone(UTC) == datetime(2026, 5, 1, 9, 30, 15, 123456, tzinfo=UTC)

    naive = NewEvent(event_type="A", data={}, metadata=META, occurred_at=datetime(2026, 5, 1, 9, 0))
    async with db.unit_of_work() as uow:
        with pytest.raises(ValueError, match="naive"):
            await uow.events.append("dep-2", "deployment", 0, [naive])


async def test_migrate_is_idempotent(db: EventDatabase) -> None:
    await append_committed(db, "dep-1", "deployment")
    await db.migrate()
    await db.ping()
    assert len(await db.reader().read_all()) == 1
