"""The in-memory twin of the SQL event store, for unit tests of aggregates and handlers.

It honours the same contract (optimistic concurrency, idempotent event ids, gap-free positions,
outbox, tracking, rollback) so the contract suite runs against it too.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from lfr_platform.clock import Clock, SystemClock, utc
from lfr_platform.errors import ConcurrencyError, DuplicateEventError
from lfr_platform.eventstore.model import NewEvent, StoredEvent
from lfr_platform.eventstore.ports import TopicRouter


@dataclass
class MemoryOutboxRecord:
    outbox_id: int
    topic: str
    key: str
    event: StoredEvent
    published: bool = False


@dataclass
class _State:
    events: list[StoredEvent]
    streams: dict[str, list[StoredEvent]]
    event_ids: set[UUID]
    outbox: list[MemoryOutboxRecord]
    processed: set[tuple[str, UUID]]


class _MemoryStoreView:
    def __init__(
        self,
        state: Callable[[], _State],
        router: TopicRouter,
        clock: Clock,
        before_write: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._current = state
        self._router = router
        self._clock = clock
        self._before_write = before_write

    @property
    def _state(self) -> _State:
        return self._current()

    async def append(
        self, stream_id: str, stream_type: str, expected_version: int, events: Sequence[NewEvent]
    ) -> list[StoredEvent]:
        if self._before_write is not None:
            await self._before_write()
        stream = self._state.streams.get(stream_id, [])
        if len(stream) != expected_version:
            raise ConcurrencyError(stream_id, expected_version, len(stream))
        recorded: list[StoredEvent] = []
        now = self._clock.now()
        for offset, new in enumerate(events):
            if new.event_id in self._state.event_ids or any(e.event_id == new.event_id for e in recorded):
                raise DuplicateEventError(f"event {new.event_id} was already recorded")
            recorded.append(
                StoredEvent(
                    position=len(self._state.events) + offset + 1,
                    stream_id=stream_id,
                    stream_type=stream_type,
                    version=expected_version + offset + 1,
                    event_id=new.event_id,
                    event_type=new.event_type,
                    schema_version=new.schema_version,
                    data=copy.deepcopy(dict(new.data)),
                    metadata=new.metadata,
                    occurred_at=utc(new.occurred_at) if new.occurred_at else now,
                    recorded_at=now,
                )
            )
        topic = self._router(stream_type)
        for event in recorded:
            self._state.events.append(event)
            self._state.streams.setdefault(stream_id, []).append(event)
            self._state.event_ids.add(event.event_id)
            if topic is not None:
                self._state.outbox.append(
                    MemoryOutboxRecord(len(self._state.outbox) + 1, topic, stream_id, event)
                )
        return recorded

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[StoredEvent]:
        return [e for e in self._state.streams.get(stream_id, []) if e.version > after_version]

    async def read_all(
        self, after_position: int = 0, limit: int = 1000, stream_type: str | None = None
    ) -> list[StoredEvent]:
        selected = [
            e
            for e in self._state.events[after_position:]
            if stream_type is None or e.stream_type == stream_type
        ]
        return selected[:limit]

    async def last_position(self) -> int:
        return len(self._state.events)

    async def list_streams(self, stream_type: str) -> list[str]:
        return [sid for sid, evs in self._state.streams.items() if evs and evs[0].stream_type == stream_type]


class InMemoryUnitOfWork:
    """Copy-on-first-write transaction: reads see committed state until the first write, which takes the
    database's write lock (as SQLite's BEGIN IMMEDIATE / PostgreSQL's table lock do) and copies the state;
    commit swaps the working copy in, rollback drops it. One writer at a time, so no update is lost."""

    def __init__(self, db: InMemoryEventDatabase) -> None:
        self._db = db
        self._work: _State | None = None
        self.events = _MemoryStoreView(self._visible, db._router, db._clock, self._begin_write)

    def _visible(self) -> _State:
        return self._work if self._work is not None else self._db._state

    async def _begin_write(self) -> None:
        if self._work is not None:
            return
        await self._db._write_lock.acquire()
        self._work = copy.copy(self._db._state)
        self._work.events = list(self._db._state.events)
        self._work.streams = {k: list(v) for k, v in self._db._state.streams.items()}
        self._work.event_ids = set(self._db._state.event_ids)
        self._work.outbox = list(self._db._state.outbox)
        self._work.processed = set(self._db._state.processed)

    def _end_write(self) -> None:
        if self._work is not None:
            self._work = None
            self._db._write_lock.release()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._end_write()

    async def commit(self) -> None:
        if self._work is not None:
            self._db._state = self._work
        self._end_write()

    async def rollback(self) -> None:
        self._end_write()

    async def mark_processed(self, consumer: str, event_id: UUID) -> bool:
        await self._begin_write()
        assert self._work is not None
        if (consumer, event_id) in self._work.processed:
            return False
        self._work.processed.add((consumer, event_id))
        return True

    @property
    def connection(self) -> Any:
        return None


class InMemoryOutbox:
    def __init__(self, db: InMemoryEventDatabase) -> None:
        self._db = db

    async def pending(self, limit: int = 500) -> list[MemoryOutboxRecord]:
        return [r for r in self._db._state.outbox if not r.published][:limit]

    async def mark_published(self, outbox_ids: Sequence[int]) -> None:
        wanted = set(outbox_ids)
        for record in self._db._state.outbox:
            if record.outbox_id in wanted:
                record.published = True

    async def republish_since(self, since_outbox_id: int) -> int:
        count = 0
        for record in self._db._state.outbox:
            if record.outbox_id > since_outbox_id and record.published:
                record.published = False
                count += 1
        return count


class InMemoryEventDatabase:
    def __init__(self, router: TopicRouter | None = None, clock: Clock | None = None) -> None:
        self._router: TopicRouter = router or (lambda _stream_type: None)
        self._clock = clock or SystemClock()
        self._state = _State(events=[], streams={}, event_ids=set(), outbox=[], processed=set())
        self._write_lock = asyncio.Lock()
        self.outbox = InMemoryOutbox(self)

    def unit_of_work(self) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self)

    def reader(self) -> _MemoryStoreView:
        """A read-only view outside any transaction (queries, catch-up)."""
        return _MemoryStoreView(lambda: self._state, self._router, self._clock)

    async def migrate(self) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def dispose(self) -> None:
        return None

    def recorded_at(self) -> datetime:
        return self._clock.now()
