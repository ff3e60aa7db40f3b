"""The event store's ports. Three adapters implement them: in-memory (unit tests), SQLite, PostgreSQL.

A unit of work is one database transaction: events, their outbox rows, a consumer's tracking row and
any read-model rows commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Protocol, Self
from uuid import UUID

from lfr_platform.eventstore.model import NewEvent, StoredEvent

# Maps a stream type (e.g. "deployment") to the Kafka topic its events are published on, or None for
# streams that stay inside the service.
TopicRouter = Callable[[str], str | None]


class EventStore(Protocol):
    async def append(
        self,
        stream_id: str,
        stream_type: str,
        expected_version: int,
        events: Sequence[NewEvent],
    ) -> list[StoredEvent]:
        """Append after `expected_version` (0 = new stream). Raises ConcurrencyError when the stream
        is elsewhere, DuplicateEventError when an event id was recorded before."""
        ...

    async def read_stream(self, stream_id: str, after_version: int = 0) -> list[StoredEvent]: ...

    async def read_all(
        self, after_position: int = 0, limit: int = 1000, stream_type: str | None = None
    ) -> list[StoredEvent]:
        """Events in global order. Positions are gap-free in commit order, so a reader that remembers
        the last position it saw never misses a later-committed event."""
        ...

    async def last_position(self) -> int: ...

    async def list_streams(self, stream_type: str) -> list[str]: ...


class UnitOfWork(Protocol):
    @property
    def events(self) -> EventStore: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Rolls back whatever was not committed."""
        ...

    async def commit(self) -> None: ...

    async def rollback(self) -> None: ...

    async def mark_processed(self, consumer: str, event_id: UUID) -> bool:
        """Record that `consumer` handled `event_id` in this transaction. False if it already had:
        the caller then skips its effect (a redelivery)."""
        ...

    @property
    def connection(self) -> Any:
        """The transaction's SQLAlchemy AsyncConnection, for read-model tables (None in memory)."""
        ...


class OutboxRecord(Protocol):
    # Read-only: the relay never changes a record, so an immutable (frozen) record satisfies the port.
    @property
    def outbox_id(self) -> int: ...

    @property
    def topic(self) -> str: ...

    @property
    def key(self) -> str: ...

    @property
    def event(self) -> StoredEvent: ...


class Outbox(Protocol):
    """What the relay needs: events committed but not yet confirmed published, in commit order."""

    async def pending(self, limit: int = 500) -> Sequence[OutboxRecord]: ...

    async def mark_published(self, outbox_ids: Sequence[int]) -> None: ...

    async def republish_since(self, since_outbox_id: int) -> int:
        """Mark rows after `since_outbox_id` unpublished again (the broker lost them). Returns how many."""
        ...


class EventDatabase(Protocol):
    """Owns the connection pool; hands out units of work."""

    @property
    def outbox(self) -> Outbox: ...

    def unit_of_work(self) -> UnitOfWork: ...

    def reader(self) -> EventStore:
        """Reads outside any transaction (queries, catch-up, audit backfill)."""
        ...

    async def migrate(self) -> None:
        """Bring the schema to head (idempotent)."""
        ...

    async def ping(self) -> None:
        """Raise if the database is unreachable (readiness)."""
        ...

    async def dispose(self) -> None: ...
