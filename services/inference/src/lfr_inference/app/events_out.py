"""Appends inference's own events (FaceMatched, FacesProcessedTallied) to its event store; the outbox
relay publishes them to lfr.inference.events.v1 within milliseconds of the commit."""

from __future__ import annotations

from lfr_platform.aggregate import DomainEvent
from lfr_platform.eventstore.model import EventMetadata, NewEvent
from lfr_platform.eventstore.ports import EventDatabase


def new_event(event: DomainEvent) -> NewEvent:
    return NewEvent(
        event_type=event.event_type(),
        data=event.payload(),
        schema_version=type(event).schema_version,
        occurred_at=event.occurred_at,
        metadata=EventMetadata(actor=event.actor, role=event.role),
    )


class EventWriter:
    def __init__(self, db: EventDatabase) -> None:
        self._db = db

    async def append_one(self, event: DomainEvent, stream_type: str, expected_version: int) -> None:
        async with self._db.unit_of_work() as uow:
            await uow.events.append(event.stream_id, stream_type, expected_version, [new_event(event)])
            await uow.commit()
