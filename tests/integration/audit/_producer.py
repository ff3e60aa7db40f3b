"""A stand-in for a platform service, on real components: a SQLite event store, its outbox relay to a
real broker, and the EventLog gRPC servicer every service exposes (lfr_platform.eventlog_grpc)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from lfr_audit.adapters.ledger_sql import SqlLedger, ledger_entries
from lfr_platform.eventlog_grpc import eventlog_registrar
from lfr_platform.eventstore import EventMetadata, NewEvent, StoredEvent
from lfr_platform.eventstore.sql import SqlEventDatabase
from lfr_platform.messaging import KafkaSettings, OutboxRelay, TopicSpec, ensure_topics
from sqlalchemy import select

from tests.fixtures.grpc_peers import serve_grpc
from tests.fixtures.waiting import wait_until

__all__ = ["INTERNAL", "ProducerService", "ledger_positions", "start_producer", "wait_until"]

INTERNAL = "internal"  # a stream type the producer never publishes: only the EventLog has it


@dataclass
class ProducerService:
    name: str
    db: SqlEventDatabase
    server: grpc.aio.Server
    target: str
    topic: str
    versions: dict[str, int] = field(default_factory=dict)
    committed: list[StoredEvent] = field(default_factory=list)
    relay: OutboxRelay | None = None
    _closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    async def append(
        self, stream_id: str, data: dict[str, Any] | None = None, *, stream_type: str = "thing",
        event_type: str = "ThingHappened",
    ) -> StoredEvent:  # fmt: skip
        version = self.versions.get(stream_id, 0)
        new = NewEvent(
            event_type=event_type,
            data=data if data is not None else {"deployment_id": "dep-1", "n": version + 1},
            metadata=EventMetadata(actor="officer-1", role="operator"),
        )
        async with self.db.unit_of_work() as uow:
            [stored] = await uow.events.append(stream_id, stream_type, version, [new])
            await uow.commit()
        self.versions[stream_id] = version + 1
        self.committed.append(stored)
        if self.relay is not None:
            self.relay.wake()
        return stored

    async def start_relay(self, kafka: KafkaSettings, partitions: int) -> OutboxRelay:
        relay_specs = [TopicSpec(self.topic, partitions=partitions, configs={"retention.ms": "3600000"})]
        producer = AIOKafkaProducer(**kafka.producer_kwargs())
        await producer.start()
        relay = OutboxRelay(
            self.db, producer, self.name, kafka=kafka, poll_interval=0.2, loss_check_interval=0.5,
            topics=relay_specs,
        )  # fmt: skip
        await relay.start()
        admin = AIOKafkaAdminClient(**kafka.admin_kwargs())
        await admin.start()
        try:  # as the relay will (same spec), so a consumer can be assigned its partitions at once
            await ensure_topics(admin, relay_specs)
        finally:
            await admin.close()
        self.relay = relay
        self._closers += [relay.stop, producer.stop]
        return relay

    async def close(self) -> None:
        for close in reversed(self._closers):
            await close()
        await self.server.stop(grace=None)
        await self.db.dispose()


async def start_producer(tmp_path: Path, name: str, topic: str) -> ProducerService:
    db = SqlEventDatabase(
        f"sqlite+aiosqlite:///{tmp_path}/{name}.db",
        router=lambda stream_type: None if stream_type == INTERNAL else topic,
    )
    await db.migrate()
    peer = await serve_grpc(eventlog_registrar(name, db))
    return ProducerService(name=name, db=db, server=peer.server, target=peer.target, topic=topic)


async def ledger_positions(ledger: SqlLedger, service: str) -> list[int]:
    """The service's source positions in ledger (sequence) order."""
    columns = ledger_entries.c
    async with ledger.engine.connect() as conn:
        rows = await conn.execute(
            select(columns.source_position)
            .where(columns.source_service == service)
            .order_by(columns.sequence)
        )
        return [int(value) for (value,) in rows]
