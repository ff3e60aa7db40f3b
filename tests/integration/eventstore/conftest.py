"""One event database per test, on each of the three backends the contract suite runs against."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from lfr_platform.clock import ManualClock
from lfr_platform.eventstore.memory import InMemoryEventDatabase
from lfr_platform.eventstore.ports import EventDatabase
from lfr_platform.eventstore.sql import SqlEventDatabase

BACKENDS = ["memory", "sqlite", "postgresql"]


def route(stream_type: str) -> str | None:
    """Streams of type `internal` stay inside the service; every other type has a topic."""
    return None if stream_type == "internal" else f"lfr.test.{stream_type}.v1"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 5, 1, 9, 30, 15, 123456, tzinfo=UTC))


@pytest.fixture
def make_database(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> Callable[[], EventDatabase]:
    """Builds database objects for the test's backend; all of them share one underlying store."""
    if backend == "memory":
        shared = InMemoryEventDatabase(router=route, clock=clock)
        return lambda: shared
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'events.db'}"
    else:
        url = request.getfixturevalue("new_postgres_database")()
    return lambda: SqlEventDatabase(url, router=route, clock=clock)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def db(backend: str, make_database: Callable[[], EventDatabase]) -> AsyncIterator[EventDatabase]:
    database = make_database()
    await database.migrate()
    try:
        yield database
    finally:
        await database.dispose()
