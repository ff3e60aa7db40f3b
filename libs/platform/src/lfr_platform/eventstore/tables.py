"""The event store's tables as SQLAlchemy Core, portable across PostgreSQL and SQLite.

Migrations (eventstore/migrations) create them; this module only describes them for queries. The two
must agree: a test compares them on both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.dialects.postgresql import JSONB

from lfr_platform.clock import utc


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both backends.

    PostgreSQL stores timestamptz; SQLite has no time zones, so the instant is stored as naive UTC and
    the zone is put back on the way out. Naive datetimes are refused on the way in.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        aware = utc(value)
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSONB on PostgreSQL (indexable, compact); JSON text elsewhere.
PortableJson = JSON().with_variant(JSONB(), "postgresql")

metadata = MetaData()

events = Table(
    "events",
    metadata,
    # Assigned by the store under its write lock (max + 1), not by a sequence: sequences leave gaps
    # on rollback and hand out numbers in start order rather than commit order.
    Column("position", BigInteger, primary_key=True, autoincrement=False),
    Column("stream_id", String(200), nullable=False),
    Column("stream_type", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("event_id", Uuid, nullable=False),
    Column("event_type", String(200), nullable=False),
    Column("schema_version", Integer, nullable=False),
    Column("data", PortableJson, nullable=False),
    Column("metadata", PortableJson, nullable=False),
    Column("occurred_at", UtcDateTime, nullable=False),
    Column("recorded_at", UtcDateTime, nullable=False),
    UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
    UniqueConstraint("event_id", name="uq_events_event_id"),
    Index("ix_events_stream_type_position", "stream_type", "position"),
)

outbox = Table(
    "outbox",
    metadata,
    # One row per routed event; its id is the event's position, so the outbox is in commit order too.
    Column("outbox_id", BigInteger, primary_key=True, autoincrement=False),
    Column("topic", String(250), nullable=False),
    Column("message_key", Text, nullable=False),
    Column("published", Boolean, nullable=False),
    Column("published_at", UtcDateTime, nullable=True),
    Index("ix_outbox_published_outbox_id", "published", "outbox_id"),
)

processed_events = Table(
    "processed_events",
    metadata,
    Column("consumer", String(200), primary_key=True),
    Column("event_id", Uuid, primary_key=True),
    Column("processed_at", UtcDateTime, nullable=False),
)
