"""The read-only EventLog gRPC service every service exposes, so the audit ledger can backfill events
that never arrived over Kafka. It reads the service's own event store in global order."""

from __future__ import annotations

import json

import grpc
from lfr_proto.lfr.eventlog.v1 import eventlog_pb2, eventlog_pb2_grpc

from lfr_platform.eventstore.ports import EventDatabase
from lfr_platform.runtime import GrpcRegistrar

MAX_PAGE = 1000


class EventLogServicer(eventlog_pb2_grpc.EventLogServicer):
    def __init__(self, service: str, db: EventDatabase) -> None:
        self._service = service
        self._db = db

    async def ReadEvents(  # noqa: N802 (gRPC method name)
        self, request: eventlog_pb2.ReadEventsRequest, context: grpc.aio.ServicerContext
    ) -> eventlog_pb2.ReadEventsResponse:
        limit = min(max(request.limit or MAX_PAGE, 1), MAX_PAGE)
        reader = self._db.reader()
        events = await reader.read_all(after_position=max(request.after_position, 0), limit=limit)
        return eventlog_pb2.ReadEventsResponse(
            service=self._service,
            last_position=await reader.last_position(),
            events=[
                eventlog_pb2.Event(
                    position=e.position,
                    event_id=str(e.event_id),
                    stream_id=e.stream_id,
                    stream_type=e.stream_type,
                    version=e.version,
                    event_type=e.event_type,
                    schema_version=e.schema_version,
                    data_json=json.dumps(dict(e.data), sort_keys=True),
                    metadata_json=json.dumps(e.metadata.as_dict(), sort_keys=True),
                    occurred_at=e.occurred_at.isoformat(),
                    recorded_at=e.recorded_at.isoformat(),
                )
                for e in events
            ],
        )


def eventlog_registrar(service: str, db: EventDatabase) -> GrpcRegistrar:
    def register(server: grpc.aio.Server) -> None:
        eventlog_pb2_grpc.add_EventLogServicer_to_server(EventLogServicer(service, db), server)

    return register
