"""`EventMessage`: the schema-versioned envelope every event topic carries (JSON value + headers).

The value holds the stored event's envelope and data; headers repeat what a router or an operator needs
without parsing the value (type, schema version, source) plus the W3C trace context.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import AwareDatetime, BaseModel, ConfigDict

from lfr_platform.eventstore.model import EventMetadata, StoredEvent

Headers = list[tuple[str, bytes]]

HEADER_EVENT_TYPE = "event_type"
HEADER_SCHEMA_VERSION = "schema_version"
HEADER_SOURCE = "source"


class EventMessage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # The envelope's own version (the event's is `schema_version`): bump on an incompatible change.
    envelope_version: Literal[1] = 1
    event_id: UUID
    stream_id: str
    stream_type: str
    version: int
    position: int
    event_type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, str | None]
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    source: str

    @classmethod
    def from_stored(cls, event: StoredEvent, service: str) -> EventMessage:
        return cls(
            event_id=event.event_id,
            stream_id=event.stream_id,
            stream_type=event.stream_type,
            version=event.version,
            position=event.position,
            event_type=event.event_type,
            schema_version=event.schema_version,
            data=dict(event.data),
            metadata=event.metadata.as_dict(),
            occurred_at=_aware(event.occurred_at),
            recorded_at=_aware(event.recorded_at),
            source=service,
        )

    def to_bytes(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_bytes(cls, raw: bytes | None) -> EventMessage:
        if raw is None:
            raise ValueError("message has no value")
        return cls.model_validate_json(raw)

    def headers(self) -> Headers:
        """Routing headers; trace headers are added by `messaging.tracing.inject_headers`."""
        return [
            (HEADER_EVENT_TYPE, self.event_type.encode()),
            (HEADER_SCHEMA_VERSION, str(self.schema_version).encode()),
            (HEADER_SOURCE, self.source.encode()),
        ]

    @property
    def event_metadata(self) -> EventMetadata:
        return EventMetadata.from_dict(self.metadata)


def _aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; the store records UTC, so say so."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
