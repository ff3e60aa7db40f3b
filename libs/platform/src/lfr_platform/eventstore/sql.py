"""The SQL event store: PostgreSQL (asyncpg) in production, SQLite (aiosqlite) embedded.

Positions are gap-free in commit order because appends are serialised: on PostgreSQL every append
transaction takes one transaction-scoped advisory lock (readers are never blocked) and numbers its events
max(position) + 1; on SQLite every unit of work holds the single write lock from BEGIN IMMEDIATE. A
reader that remembers the last position it saw therefore never misses an event committed later with a
lower position. There is no update or delete path for events; the database refuses them too (triggers).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from uuid import UUID

from sqlalchemy import Select, false, func, insert, literal, select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lfr_platform.clock import Clock, SystemClock, utc
from lfr_platform.errors import ConcurrencyError, DuplicateEventError
from lfr_platform.eventstore.engine import READ_ONLY, create_engine, normalise_url
from lfr_platform.eventstore.migrations import upgrade_to_head
from lfr_platform.eventstore.model import EventMetadata, NewEvent, StoredEvent
from lfr_platform.eventstore.pg_append import prepare_append, run_append
from lfr_platform.eventstore.ports import TopicRouter
from lfr_platform.eventstore.tables import events, outbox, processed_events

# pg_advisory_xact_lock keys (advisory locks are per database). The append lock is advisory rather than
# `LOCK TABLE events IN EXCLUSIVE MODE` because that needs UPDATE/DELETE privilege on events, which the
# application's role must not have. PostgreSQL releases it only after the commit is visible, so the next
# appender's max(position) sees it.
_MIGRATION_LOCK_KEY = 0x4C46525F45565453  # "LFR_EVTS"
# Alembic installs its `context`/`op` proxies as module globals while a migration runs, so two
# migrations interleaving on one event loop (several databases in one process) would trample them.
_migration_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


def _migration_lock() -> asyncio.Lock:
    return _migration_locks.setdefault(asyncio.get_running_loop(), asyncio.Lock())


_APPEND_LOCK_KEY = 0x4C46525F41505044  # "LFR_APPD"


def _stored(row: Mapping[Any, Any]) -> StoredEvent:
    return StoredEvent(
        position=row["position"],
        stream_id=row["stream_id"],
        stream_type=row["stream_type"],
        version=row["version"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        schema_version=row["schema_version"],
        data=dict(row["data"]),
        metadata=EventMetadata.from_dict(row["metadata"]),
        occurred_at=row["occurred_at"],
        recorded_at=row["recorded_at"],
    )


def _check(stream_id: str, expected_version: int, current_version: int, known_id: UUID | None) -> None:
    if current_version != expected_version:
        raise ConcurrencyError(stream_id, expected_version, current_version)
    if known_id is not None:
        raise DuplicateEventError(f"event {known_id} was already recorded", details={"id": str(known_id)})


def _recorded(
    stream_id: str,
    stream_type: str,
    expected_version: int,
    last_position: int,
    new_events: Sequence[NewEvent],
    occurred: Sequence[datetime],
    recorded_at: datetime,
) -> list[StoredEvent]:
    return [
        StoredEvent(
            position=last_position + offset + 1,
            stream_id=stream_id,
            stream_type=stream_type,
            version=expected_version + offset + 1,
            event_id=new.event_id,
            event_type=new.event_type,
            schema_version=new.schema_version,
            data=dict(new.data),
            metadata=new.metadata,
            occurred_at=occurred[offset],
            recorded_at=recorded_at,
        )
        for offset, new in enumerate(new_events)
    ]


class _SqlReads:
    """The read half of EventStore; subclasses say which connection a query runs on."""

    def _connection(self) -> Any:  # an async context manager yielding an AsyncConnection
        raise NotImplementedError

    async def _fetch(self, query: Select[Any]) -> list[StoredEvent]:
        async with self._connection() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [_stored(row) for row in rows]

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[StoredEvent]:
        return await self._fetch(
            select(events)
            .where(events.c.stream_id == stream_id, events.c.version > after_version)
            .order_by(events.c.version)
        )

    async def read_all(
        self, after_position: int = 0, limit: int = 1000, stream_type: str | None = None
    ) -> list[StoredEvent]:
        query = select(events).where(events.c.position > after_position)
        if stream_type is not None:
            query = query.where(events.c.stream_type == stream_type)
        return await self._fetch(query.order_by(events.c.position).limit(limit))

    async def last_position(self) -> int:
        async with self._connection() as conn:
            value = (await conn.execute(select(func.max(events.c.position)))).scalar()
        return int(value or 0)

    async def list_streams(self, stream_type: str) -> list[str]:
        query = (
            select(events.c.stream_id)
            .where(events.c.stream_type == stream_type, events.c.version == 1)
            .order_by(events.c.position)
        )
        async with self._connection() as conn:
            return list((await conn.execute(query)).scalars().all())


class SqlEventStore(_SqlReads):
    """The unit of work's view: reads see its own uncommitted appends."""

    def __init__(self, uow: SqlUnitOfWork) -> None:
        self._uow = uow

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection]:
        yield self._uow.connection

    async def append(
        self, stream_id: str, stream_type: str, expected_version: int, events_: Sequence[NewEvent]
    ) -> list[StoredEvent]:
        db = self._uow._db
        ids = [e.event_id for e in events_]
        if len(set(ids)) != len(ids):
            raise DuplicateEventError(
                "the same event id appears twice in one append", details={"ids": [str(i) for i in ids]}
            )
        now = db.clock.now()
        occurred = [utc(e.occurred_at) if e.occurred_at else now for e in events_]  # refuse naive times

        topic = db.router(stream_type)
        if db.dialect == "postgresql":
            prepared = prepare_append(
                stream_id=stream_id,
                stream_type=stream_type,
                expected_version=expected_version,
                events=events_,
                occurred_at=occurred,
                recorded_at=now,
                topic=topic,
            )
            conn = await self._uow._connection_for_append()  # the write lock: keep what follows short
            last_position, current_version, known_id = await run_append(conn, prepared)
            _check(stream_id, expected_version, current_version, known_id)
            return _recorded(stream_id, stream_type, expected_version, last_position, events_, occurred, now)

        conn = await self._uow._connection_for_append()
        probe = select(
            select(func.max(events.c.position)).scalar_subquery(),
            select(func.max(events.c.version)).where(events.c.stream_id == stream_id).scalar_subquery(),
            select(events.c.event_id).where(events.c.event_id.in_(ids)).limit(1).scalar_subquery(),
        )
        last_position, current_version, known_id = (await conn.execute(probe)).one()
        _check(stream_id, expected_version, current_version or 0, known_id)
        if not events_:
            return []
        recorded = _recorded(
            stream_id, stream_type, expected_version, last_position or 0, events_, occurred, now
        )
        try:
            await conn.execute(
                insert(events), [{**e.__dict__, "metadata": e.metadata.as_dict()} for e in recorded]
            )
        except IntegrityError as err:  # only if something bypassed the write lock
            if "event_id" in str(err.orig):
                raise DuplicateEventError("an event id was already recorded") from err
            actual = await db.reader().stream_version(stream_id)
            raise ConcurrencyError(stream_id, expected_version, actual) from err
        if topic is not None:  # one statement, however many events: copy them from what was just written
            routed = select(events.c.position, literal(topic), literal(stream_id), false()).where(
                events.c.stream_id == stream_id, events.c.version > expected_version
            )
            await conn.execute(
                insert(outbox).from_select(["outbox_id", "topic", "message_key", "published"], routed)
            )
        return recorded


class SqlEventReader(_SqlReads):
    """Reads outside any unit of work, each on a short read-only connection."""

    def __init__(self, db: SqlEventDatabase) -> None:
        self._db = db

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConnection]:
        async with self._db.read_engine.connect() as conn:
            yield conn

    async def append(
        self, stream_id: str, stream_type: str, expected_version: int, events_: Sequence[NewEvent]
    ) -> list[StoredEvent]:
        raise TypeError("the reader is read-only: append inside a unit of work")

    async def stream_version(self, stream_id: str) -> int:
        query = select(func.max(events.c.version)).where(events.c.stream_id == stream_id)
        async with self._connection() as conn:
            return int((await conn.execute(query)).scalar() or 0)


class SqlUnitOfWork:
    """One database connection and transaction. The transaction begins with the first statement and
    ends at commit/rollback; leaving the block rolls back whatever was not committed."""

    def __init__(self, db: SqlEventDatabase) -> None:
        self._db = db
        self._conn: AsyncConnection | None = None
        self._holds_append_lock = False
        self.events = SqlEventStore(self)

    async def __aenter__(self) -> Self:
        self._conn = await self._db.engine.connect().start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if conn.in_transaction():
                await conn.rollback()
        finally:
            self._holds_append_lock = False
            await conn.close()

    @property
    def connection(self) -> AsyncConnection:
        if self._conn is None:
            raise RuntimeError("the unit of work is not open: use `async with db.unit_of_work() as uow`")
        return self._conn

    async def _connection_for_append(self) -> AsyncConnection:
        conn = self.connection
        if self._db.dialect == "postgresql" and not self._holds_append_lock:
            # Serialise appends until commit so positions are handed out in commit order.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _APPEND_LOCK_KEY})
            self._holds_append_lock = True
        return conn

    async def commit(self) -> None:
        await self.connection.commit()
        self._holds_append_lock = False

    async def rollback(self) -> None:
        await self.connection.rollback()
        self._holds_append_lock = False

    async def mark_processed(self, consumer: str, event_id: UUID) -> bool:
        dialect_insert = postgresql.insert if self._db.dialect == "postgresql" else sqlite.insert
        statement = (
            dialect_insert(processed_events)
            .values(consumer=consumer, event_id=event_id, processed_at=self._db.clock.now())
            .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        )
        result = await self.connection.execute(statement)
        return bool(result.rowcount == 1)


@dataclass(frozen=True)
class SqlOutboxRecord:
    outbox_id: int
    topic: str
    key: str
    event: StoredEvent


class SqlOutbox:
    """What the relay reads and ticks off. Only the `published` flag ever changes."""

    def __init__(self, db: SqlEventDatabase) -> None:
        self._db = db

    async def pending(self, limit: int = 500) -> list[SqlOutboxRecord]:
        query = (
            select(outbox.c.outbox_id, outbox.c.topic, outbox.c.message_key, events)
            .join(events, events.c.position == outbox.c.outbox_id)
            .where(outbox.c.published.is_(False))
            .order_by(outbox.c.outbox_id)
            .limit(limit)
        )
        async with self._db.read_engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [SqlOutboxRecord(r["outbox_id"], r["topic"], r["message_key"], _stored(r)) for r in rows]

    async def mark_published(self, outbox_ids: Sequence[int]) -> None:
        if not outbox_ids:
            return
        statement = (
            update(outbox)
            .where(outbox.c.outbox_id.in_(list(outbox_ids)))
            .values(published=True, published_at=self._db.clock.now())
        )
        async with self._db.engine.begin() as conn:
            await conn.execute(statement)

    async def republish_since(self, since_outbox_id: int) -> int:
        statement = (
            update(outbox)
            .where(outbox.c.outbox_id > since_outbox_id, outbox.c.published.is_(True))
            .values(published=False, published_at=None)
        )
        async with self._db.engine.begin() as conn:
            result = await conn.execute(statement)
        return int(result.rowcount)


class SqlEventDatabase:
    """Owns the engine (connection pool) for one service's database and hands out units of work."""

    def __init__(
        self,
        url: str,
        router: TopicRouter | None = None,
        clock: Clock | None = None,
        echo: bool = False,
    ) -> None:
        self.url = normalise_url(url)
        self.dialect = self.url.get_backend_name()
        self.router: TopicRouter = router or (lambda _stream_type: None)
        self.clock = clock or SystemClock()
        self.engine: AsyncEngine = create_engine(self.url, echo=echo)
        self.read_engine: AsyncEngine = self.engine.execution_options(**{READ_ONLY: True})
        self.outbox = SqlOutbox(self)

    def unit_of_work(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self)

    def reader(self) -> SqlEventReader:
        return SqlEventReader(self)

    async def migrate(self) -> None:
        if self.dialect == "sqlite" and self.url.database not in (None, "", ":memory:"):
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        async with _migration_lock(), self.engine.begin() as conn:
            if self.dialect == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
            await conn.run_sync(upgrade_to_head)

    async def ping(self) -> None:
        async with self.read_engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
