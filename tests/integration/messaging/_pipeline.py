"""A small event-sourced pipeline on real infrastructure: SQLite event store -> outbox relay -> tansu
-> EventConsumer whose effect is a row per event in an `effects` table (same transaction as tracking)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from lfr_platform.eventstore import EventMetadata, NewEvent, StoredEvent, UnitOfWork
from lfr_platform.eventstore.sql import SqlEventDatabase
from lfr_platform.messaging import (
    EventConsumer,
    EventMessage,
    KafkaSettings,
    OutboxRelay,
    TopicSpec,
    ensure_topics,
    topic_name,
)
from sqlalchemy import text

PARTITIONS = 2


async def record_effect(uow: UnitOfWork, message: EventMessage) -> None:
    """The consumer's effect: one row per handled event, in the tracking transaction. No unique key, so
    a duplicated effect would show as a second row."""
    await uow.connection.execute(
        text("INSERT INTO effects (event_id, stream_id, version) VALUES (:e, :s, :v)"),
        {"e": str(message.event_id), "s": message.stream_id, "v": message.version},
    )


@dataclass
class Pipeline:
    db: SqlEventDatabase
    kafka: KafkaSettings
    topic: str
    specs: list[TopicSpec]
    prefix: str
    committed: list[uuid.UUID] = field(default_factory=list)
    versions: dict[str, int] = field(default_factory=dict)
    _closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    @property
    def partitions(self) -> list[TopicPartition]:
        return [TopicPartition(self.topic, p) for p in range(PARTITIONS)]

    async def append(self, stream_id: str, *, commit: bool = True) -> StoredEvent:
        version = self.versions.get(stream_id, 0)
        new = NewEvent(
            event_type="ThingHappened", data={"n": version + 1}, metadata=EventMetadata(actor="t", role="r")
        )
        async with self.db.unit_of_work() as uow:
            [stored] = await uow.events.append(stream_id, "thing", version, [new])
            if not commit:
                return stored  # leaving the block rolls back
            await uow.commit()
        self.versions[stream_id] = version + 1
        self.committed.append(stored.event_id)
        return stored

    async def relay(self, **kwargs: Any) -> OutboxRelay:
        producer = AIOKafkaProducer(**self.kafka.producer_kwargs())
        await producer.start()
        relay = OutboxRelay(
            self.db, producer, "svc-a", kafka=self.kafka, topics=self.specs, poll_interval=0.2, **kwargs
        )
        await relay.start()
        self._closers += [relay.stop, producer.stop]
        return relay

    async def consumer(
        self, name: str = "effects", *, subscribe: bool = False, **kwargs: Any
    ) -> EventConsumer:
        """Assigned to the partitions directly (fast), or with `subscribe` joining a consumer group
        (what services do; a join takes ~5 s on tansu)."""
        kwargs.setdefault("handler", record_effect)
        consumer = EventConsumer(
            name,
            group_id=f"{self.prefix}{name}",
            db=self.db,
            kafka=self.kafka,
            topics=[self.topic] if subscribe else (),
            partitions=None if subscribe else self.partitions,
            topic_prefix=self.prefix,
            retry_backoff=0.01,
            **kwargs,
        )
        await consumer.start()
        self._closers.append(consumer.stop)
        return consumer

    async def effects(self) -> list[str]:
        async with self.db.engine.connect() as conn:
            rows = await conn.execute(text("SELECT event_id FROM effects ORDER BY rowid"))
            return [row[0] for row in rows]

    async def create_topics(self) -> None:
        admin = AIOKafkaAdminClient(**self.kafka.admin_kwargs())
        await admin.start()
        try:
            await ensure_topics(admin, self.specs)
        finally:
            await admin.close()

    async def close(self) -> None:
        for close in reversed(self._closers):
            # Bounded: a producer flushing to a dead broker would wait for each batch to time out.
            try:
                await asyncio.wait_for(close(), 15)
            except TimeoutError:
                pass
        await self.db.dispose()


async def make_pipeline(tmp_path: Path, kafka: KafkaSettings, prefix: str) -> Pipeline:
    topic = topic_name("test", "things", 1, prefix=prefix)
    db = SqlEventDatabase(f"sqlite+aiosqlite:///{tmp_path}/svc.db", router=lambda _type: topic)
    await db.migrate()
    async with db.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE effects (event_id TEXT, stream_id TEXT, version INT)"))
    specs = [TopicSpec(topic, partitions=PARTITIONS, configs={"retention.ms": "3600000"})]
    pipeline = Pipeline(db=db, kafka=kafka, topic=topic, specs=specs, prefix=prefix)
    await pipeline.create_topics()
    return pipeline
