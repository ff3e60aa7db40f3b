"""Loads and saves event-sourced aggregates through a unit of work."""

from __future__ import annotations

from typing import Generic, TypeVar

from lfr_platform.aggregate import Aggregate, DomainEvent, EventRegistry
from lfr_platform.errors import NotFound
from lfr_platform.eventstore.model import EventMetadata, NewEvent, StoredEvent
from lfr_platform.eventstore.ports import EventStore

A = TypeVar("A", bound=Aggregate)


class EventSourcedRepository(Generic[A]):
    def __init__(self, aggregate_cls: type[A], registry: EventRegistry) -> None:
        self._cls = aggregate_cls
        self._registry = registry

    def rebuild(self, stored: StoredEvent) -> DomainEvent:
        return self._registry.rebuild(
            stored.event_type,
            data=dict(stored.data),
            stream_id=stored.stream_id,
            version=stored.version,
            occurred_at=stored.occurred_at,
            actor=stored.metadata.actor,
            role=stored.metadata.role,
            schema_version=stored.schema_version,
        )

    async def find(self, store: EventStore, stream_id: str) -> A | None:
        stored = await store.read_stream(stream_id)
        if not stored:
            return None
        return self._cls.rehydrate(stream_id, [self.rebuild(s) for s in stored])

    async def get(self, store: EventStore, stream_id: str) -> A:
        aggregate = await self.find(store, stream_id)
        if aggregate is None:
            raise NotFound(f"{self._cls.stream_type} {stream_id!r} does not exist")
        return aggregate

    async def save(
        self,
        store: EventStore,
        aggregate: A,
        *,
        correlation_id: str | None = None,
        causation_id: str | None = None,
        traceparent: str | None = None,
    ) -> list[StoredEvent]:
        pending = aggregate.collect_pending()
        if not pending:
            return []
        expected = pending[0].version - 1
        new_events = [
            NewEvent(
                event_type=e.event_type(),
                data=e.payload(),
                schema_version=type(e).schema_version,
                occurred_at=e.occurred_at,
                metadata=EventMetadata(
                    actor=e.actor,
                    role=e.role,
                    correlation_id=correlation_id,
                    causation_id=causation_id,
                    traceparent=traceparent,
                ),
            )
            for e in pending
        ]
        return await store.append(aggregate.id, self._cls.stream_type, expected, new_events)
