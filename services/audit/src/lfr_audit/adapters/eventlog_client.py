"""Reads a service's event log over gRPC (`lfr.eventlog.v1.EventLog/ReadEvents`) as ledger entries."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from lfr_platform.grpc_security import peer_channel
from lfr_platform.settings import ServiceSettings
from lfr_proto.lfr.eventlog.v1 import eventlog_pb2, eventlog_pb2_grpc

from lfr_audit.domain.canonical import LedgerEntry, format_time


@dataclass(frozen=True, kw_only=True)
class EventLogPage:
    entries: list[LedgerEntry]
    last_position: int  # the source's newest position when it answered


class EventLogClient:
    """TLS/mTLS from `settings.grpc_tls` (grpc_security); the channel opens on first use, inside the
    running event loop, since the composition root builds clients before the loop starts."""

    def __init__(self, service: str, target: str, settings: ServiceSettings) -> None:
        self.service = service
        self.target = target
        self._channel = peer_channel(target, settings)
        self._stub = eventlog_pb2_grpc.EventLogStub(self._channel)

    async def read(self, after_position: int, limit: int = 1000, deadline_s: float = 10.0) -> EventLogPage:
        response = await self._stub.ReadEvents(
            eventlog_pb2.ReadEventsRequest(after_position=after_position, limit=limit), timeout=deadline_s
        )
        return EventLogPage(
            entries=[entry_from_proto(self.service, event) for event in response.events],
            last_position=response.last_position,
        )

    async def close(self) -> None:
        await self._channel.close()


def entry_from_proto(service: str, event: eventlog_pb2.Event) -> LedgerEntry:
    """The same entry (and canonical bytes) the Kafka path builds from the EventMessage of this event."""
    return LedgerEntry(
        source_service=service,
        event_id=event.event_id,
        stream_id=event.stream_id,
        stream_type=event.stream_type,
        version=int(event.version),
        source_position=int(event.position),
        event_type=event.event_type,
        schema_version=int(event.schema_version),
        data=json.loads(event.data_json),
        metadata=json.loads(event.metadata_json),
        occurred_at=_time(event.occurred_at),
        recorded_at=_time(event.recorded_at),
    )


def _time(text: str) -> str:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:  # SQLite stores naive UTC; the EventMessage path says so explicitly too
        moment = moment.replace(tzinfo=UTC)
    return format_time(moment)
