"""The shapes every event store speaks: what a writer appends and what a reader gets back.

`data` is JSON and never holds biometric bytes (frames, crops, templates): events reference
encrypted blobs by id, so crypto-shredding a blob never rewrites history.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4


@dataclass(frozen=True, kw_only=True)
class EventMetadata:
    """Who did it, on whose behalf, and which request/trace it belongs to."""

    actor: str
    role: str
    correlation_id: str | None = None
    causation_id: str | None = None
    traceparent: str | None = None
    tracestate: str | None = None

    def as_dict(self) -> dict[str, str | None]:
        return {
            "actor": self.actor,
            "role": self.role,
            "correlation_id": self.correlation_id,
            "causation_id": self.causation_id,
            "traceparent": self.traceparent,
            "tracestate": self.tracestate,
        }

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> EventMetadata:
        return cls(
            actor=str(raw["actor"]),
            role=str(raw["role"]),
            correlation_id=raw.get("correlation_id"),
            causation_id=raw.get("causation_id"),
            traceparent=raw.get("traceparent"),
            tracestate=raw.get("tracestate"),
        )


@dataclass(frozen=True, kw_only=True)
class NewEvent:
    """An event a writer wants appended. `event_id` makes the append idempotent."""

    event_type: str
    data: Mapping[str, Any]
    metadata: EventMetadata
    event_id: UUID = field(default_factory=uuid4)
    schema_version: int = 1
    occurred_at: datetime | None = None


@dataclass(frozen=True, kw_only=True)
class StoredEvent:
    """An event as recorded: immutable, with its stream version and global position."""

    position: int
    stream_id: str
    stream_type: str
    version: int
    event_id: UUID
    event_type: str
    schema_version: int
    data: Mapping[str, Any]
    metadata: EventMetadata
    occurred_at: datetime
    recorded_at: datetime
