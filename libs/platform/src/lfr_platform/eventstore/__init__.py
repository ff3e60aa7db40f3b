"""Append-only event store with per-stream optimistic concurrency and a transactional outbox."""

from lfr_platform.eventstore.memory import InMemoryEventDatabase
from lfr_platform.eventstore.model import EventMetadata, NewEvent, StoredEvent
from lfr_platform.eventstore.ports import EventDatabase, EventStore, Outbox, TopicRouter, UnitOfWork
from lfr_platform.eventstore.repository import EventSourcedRepository

__all__ = [
    "EventDatabase",
    "EventMetadata",
    "EventSourcedRepository",
    "EventStore",
    "InMemoryEventDatabase",
    "NewEvent",
    "Outbox",
    "StoredEvent",
    "TopicRouter",
    "UnitOfWork",
]
