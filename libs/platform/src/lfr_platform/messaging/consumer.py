"""Kafka consumers: `EventConsumer` (tracked, exactly-once effect) and `RawConsumer` (frames).

EventConsumer, per message:
  parse `EventMessage` (failure -> dead-letter topic) ->
  `async with db.unit_of_work() as uow: if await uow.mark_processed(name, event_id): handler(); commit` ->
  after the batch, commit the Kafka offsets.
A redelivered event (crash before the offset commit, relay republish after a broker restart) finds its
tracking row and is skipped, so the effect happens exactly once. Handler failures retry with back-off,
then go to `lfr.dlq.<consumer>.v1` with the error in headers, and consumption carries on. Database or
network failures (`is_transient`) are retried without limit instead: an outage must not dead-letter.

A broker that lost its state (the embedded broker restarted) forgets committed offsets; before each
commit the consumer compares the broker's committed offset with its own, and on a regression rewinds
the partition to the beginning so nothing republished is skipped (the tracking rows dedupe).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import IllegalStateError
from opentelemetry.trace import TracerProvider
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, OperationalError

from lfr_platform.eventstore.ports import EventDatabase, UnitOfWork
from lfr_platform.messaging.settings import KafkaSettings
from lfr_platform.messaging.topics import TopicSpec, dead_letter_topic, ensure_topics
from lfr_platform.messaging.tracing import consumer_span
from lfr_platform.messaging.wire import EventMessage

log = logging.getLogger(__name__)

EventHandler = Callable[[UnitOfWork, EventMessage], Awaitable[None]]
RawHandler = Callable[[ConsumerRecord[bytes, bytes]], Awaitable[None]]


@dataclass(frozen=True)
class DeadLetter:
    consumer: str
    topic: str
    partition: int
    offset: int
    event_id: str | None
    error: str
    attempts: int


DeadLetterHook = Callable[[DeadLetter], Awaitable[None]]


def is_transient(error: BaseException) -> bool:
    """Infrastructure trouble (retry forever), as opposed to a handler that cannot cope (dead-letter)."""
    if isinstance(error, OperationalError | ConnectionError | TimeoutError):
        return True
    return isinstance(error, DBAPIError) and bool(error.connection_invalidated)


class _ConsumerLoop:
    """Start/stop and the fetch loop shared by both consumers."""

    def __init__(
        self,
        name: str,
        kafka: KafkaSettings,
        *,
        topics: Sequence[str] = (),
        partitions: Sequence[TopicPartition] | None = None,
        group_id: str | None,
        batch_size: int,
        auto_offset_reset: str = "earliest",
    ) -> None:
        if not topics and not partitions:
            raise ValueError("a consumer needs topics (group subscription) or partitions (assignment)")
        self.name = name
        self._kafka = kafka
        self._topics = list(topics)
        self._partitions = list(partitions) if partitions is not None else None
        self._group_id = group_id
        self._batch_size = batch_size
        self._auto_offset_reset = auto_offset_reset
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._fetching = False  # waiting for records, none in hand

    async def start(self) -> None:
        kwargs = self._kafka.consumer_kwargs(self._group_id)
        kwargs["auto_offset_reset"] = self._auto_offset_reset
        consumer = AIOKafkaConsumer(**kwargs)
        await consumer.start()
        if self._partitions is not None:
            consumer.assign(self._partitions)  # no group join: fast, and offsets still commit
            await self._on_assigned(consumer, self._partitions)
        else:
            consumer.subscribe(self._topics)
        self._consumer = consumer
        self._stopping = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name=f"consumer-{self.name}")

    async def _on_assigned(self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> None:
        """Hook for where a directly assigned consumer starts (default: committed offset or policy)."""

    @property
    def task(self) -> asyncio.Task[None] | None:
        return self._task

    async def stop(self, grace: float = 5.0) -> None:
        """Graceful: the loop finishes the message in hand and commits what it handled; after `grace`
        seconds it is cancelled (a handler's uncommitted unit of work then rolls back)."""
        task, self._task = self._task, None
        if task is not None:
            self._stopping.set()
            if self._fetching:
                # Nothing in hand to finish: cancel now rather than wait out the fetch's 500 ms.
                task.cancel()
            try:
                await asyncio.wait_for(task, grace)
            except (TimeoutError, asyncio.CancelledError):
                pass
            except Exception as error:
                log.warning("consumer %s ended with %s", self.name, error)
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    async def _run(self) -> None:
        assert self._consumer is not None
        consumer = self._consumer
        while not self._stopping.is_set():
            self._fetching = True
            try:
                batch = await consumer.getmany(timeout_ms=500, max_records=self._batch_size)
            finally:
                self._fetching = False
            handled: dict[TopicPartition, int] = {}
            for tp, records in batch.items():
                for record in records:
                    if self._stopping.is_set():
                        break
                    await self._handle(record)
                    handled[tp] = record.offset + 1
            if handled:
                await self._after_batch(consumer, handled)
            await self._rewind_truncated(consumer)

    async def _rewind_truncated(self, consumer: AIOKafkaConsumer) -> None:
        """A partition whose log now ends below our position was emptied under us (the embedded broker
        restarted, or a rotating frames topic was recycled). The broker then just returns nothing, so
        read it again from the start; tracking rows dedupe events, and frames are short-lived anyway."""
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is None:
                continue
            try:
                position = await consumer.position(tp)
            except IllegalStateError:  # revoked by a rebalance meanwhile
                continue
            if highwater < position:
                log.warning(
                    "consumer %s: %s ends at %d, below position %d: rewinding",
                    self.name,
                    tp,
                    highwater,
                    position,
                )
                self._forget_committed(tp)
                await consumer.seek_to_beginning(tp)

    def _forget_committed(self, tp: TopicPartition) -> None:
        """The broker's log for `tp` restarted: what we committed there no longer means anything."""

    async def _handle(self, record: ConsumerRecord[bytes, bytes]) -> None:
        raise NotImplementedError

    async def _after_batch(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        raise NotImplementedError


class EventConsumer(_ConsumerLoop):
    def __init__(
        self,
        name: str,
        handler: EventHandler,
        db: EventDatabase,
        kafka: KafkaSettings,
        *,
        topics: Sequence[str] = (),
        partitions: Sequence[TopicPartition] | None = None,
        group_id: str | None = None,
        max_attempts: int = 5,
        retry_backoff: float = 0.1,
        max_backoff: float = 5.0,
        batch_size: int = 100,
        topic_prefix: str = "",
        on_dead_letter: DeadLetterHook | None = None,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        """`name` identifies the consumer: tracking rows, default group id, dead-letter topic.
        `partitions` assigns them directly (no group join), else the group subscribes to `topics`."""
        super().__init__(
            name,
            kafka,
            topics=topics,
            partitions=partitions,
            group_id=group_id or name,
            batch_size=batch_size,
        )
        self._handler = handler
        self._db = db
        self._max_attempts = max_attempts
        self._retry_backoff = retry_backoff
        self._max_backoff = max_backoff
        self.dead_letter_topic = dead_letter_topic(name, topic_prefix)
        self._on_dead_letter = on_dead_letter
        self._tracer_provider = tracer_provider
        self._dlq_producer: AIOKafkaProducer | None = None
        self._committed: dict[TopicPartition, int] = {}
        self.handled = 0
        self.skipped = 0
        self.dead_lettered = 0
        self.rewinds = 0

    async def start(self) -> None:
        await self._ensure_dead_letter_topic()
        await super().start()

    async def stop(self, grace: float = 5.0) -> None:
        await super().stop(grace)
        producer, self._dlq_producer = self._dlq_producer, None
        if producer is not None:
            await producer.stop()

    async def _handle(self, record: ConsumerRecord[bytes, bytes]) -> None:
        with consumer_span(
            record.topic, record.headers, self._tracer_provider, **{"lfr.consumer": self.name}
        ):
            try:
                message = EventMessage.from_bytes(record.value)
            except (ValidationError, ValueError) as error:
                await self._dead_letter(record, None, error, attempts=0)
                return
            await self._handle_message(record, message)

    async def _handle_message(self, record: ConsumerRecord[bytes, bytes], message: EventMessage) -> None:
        attempts = 0
        delay = self._retry_backoff
        while True:
            attempts += 1
            try:
                await self._apply(message)
                return
            except asyncio.CancelledError:
                raise
            except Exception as error:
                transient = is_transient(error)
                if not transient and attempts >= self._max_attempts:
                    await self._dead_letter(record, message, error, attempts)
                    return
                log.warning(
                    "consumer %s: %s handling %s (attempt %d)",
                    self.name,
                    type(error).__name__,
                    message.event_id,
                    attempts,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff)

    async def _apply(self, message: EventMessage) -> None:
        async with self._db.unit_of_work() as uow:
            if await uow.mark_processed(self.name, message.event_id):
                await self._handler(uow, message)
                self.handled += 1
            else:
                self.skipped += 1
            await uow.commit()

    async def _dead_letter(
        self,
        record: ConsumerRecord[bytes, bytes],
        message: EventMessage | None,
        error: BaseException,
        attempts: int,
    ) -> None:
        # The error text comes from parsing or from a handler of (non-biometric) events.
        error_text = f"{type(error).__name__}: {error}"[:2000]
        headers = list(record.headers or ()) + [
            ("dlq.error", error_text.encode()),
            ("dlq.consumer", self.name.encode()),
            ("dlq.topic", record.topic.encode()),
            ("dlq.partition", str(record.partition).encode()),
            ("dlq.offset", str(record.offset).encode()),
            ("dlq.attempts", str(attempts).encode()),
        ]
        delay = self._retry_backoff
        while True:  # the offset is not committed until the dead letter is safely stored
            try:
                producer = await self._producer()
                await producer.send_and_wait(
                    self.dead_letter_topic, record.value, key=record.key, headers=headers
                )
                break
            except asyncio.CancelledError:
                raise
            except Exception as send_error:
                log.warning("consumer %s: dead-letter send failed: %s", self.name, send_error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, self._max_backoff)
        self.dead_lettered += 1
        log.error(
            "consumer %s: dead-lettered %s/%d@%d after %d attempts: %s",
            self.name,
            record.topic,
            record.partition,
            record.offset,
            attempts,
            type(error).__name__,
        )
        if self._on_dead_letter is not None:
            event_id = str(message.event_id) if message else None
            await self._on_dead_letter(
                DeadLetter(
                    self.name, record.topic, record.partition, record.offset, event_id, error_text, attempts
                )
            )

    async def _ensure_dead_letter_topic(self) -> None:
        """Production clusters usually refuse auto-creation; tansu would auto-create it anyway."""
        admin = AIOKafkaAdminClient(**self._kafka.admin_kwargs())
        try:
            await admin.start()
            await ensure_topics(admin, [TopicSpec(self.dead_letter_topic, partitions=1)])
        except Exception as error:
            log.warning("consumer %s: could not ensure %s: %s", self.name, self.dead_letter_topic, error)
        finally:
            await admin.close()

    async def _producer(self) -> AIOKafkaProducer:
        if self._dlq_producer is None:
            producer = AIOKafkaProducer(**self._kafka.producer_kwargs())
            await producer.start()
            self._dlq_producer = producer
        return self._dlq_producer

    async def _after_batch(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        to_commit: dict[TopicPartition, int] = {}
        for tp, offset in offsets.items():
            if await self._broker_lost_offsets(consumer, tp):
                continue
            to_commit[tp] = offset
        if not to_commit:
            return
        try:
            await consumer.commit(to_commit)
        except Exception as error:  # broker down or rebalance: the next batch commits; redeliveries dedupe
            log.warning("consumer %s: offset commit failed: %s", self.name, error)
            return
        self._committed.update(to_commit)

    def _forget_committed(self, tp: TopicPartition) -> None:
        self._committed.pop(tp, None)

    async def _broker_lost_offsets(self, consumer: AIOKafkaConsumer, tp: TopicPartition) -> bool:
        """True (and the partition rewound) when the broker no longer has the offset we committed."""
        ours = self._committed.get(tp)
        if ours is None:
            return False
        try:
            theirs = await consumer.committed(tp)
        except Exception:
            return False  # broker unreachable: the commit will fail too, and we check again next time
        if theirs is not None and theirs >= ours:
            return False
        log.warning(
            "consumer %s: broker lost committed offset %s of %s (now %s): rewinding",
            self.name,
            ours,
            tp,
            theirs,
        )
        self._committed.pop(tp, None)
        self.rewinds += 1
        await consumer.seek_to_beginning(tp)
        return True


class RawConsumer(_ConsumerLoop):
    """For non-event topics (encrypted frames): no parsing, tracking or dead-letter; a failing record is
    logged (never its content) and skipped. A directly assigned consumer starts at the end of each
    partition (only live frames matter); a partition emptied under it is read again from its start."""

    def __init__(
        self,
        name: str,
        handler: RawHandler,
        kafka: KafkaSettings,
        *,
        topics: Sequence[str] = (),
        partitions: Sequence[TopicPartition] | None = None,
        group_id: str | None = None,
        batch_size: int = 50,
        start_at_end: bool = True,
    ) -> None:
        super().__init__(
            name,
            kafka,
            topics=topics,
            partitions=partitions,
            group_id=group_id if group_id is not None else (None if partitions is not None else name),
            batch_size=batch_size,
            # Out-of-range resets happen when a recycled topic starts again at 0: read it all.
            auto_offset_reset="earliest",
        )
        self._handler = handler
        self._start_at_end = start_at_end
        self.handled = 0
        self.failed = 0

    async def _on_assigned(self, consumer: AIOKafkaConsumer, partitions: list[TopicPartition]) -> None:
        if self._start_at_end:
            await consumer.seek_to_end(*partitions)

    async def _handle(self, record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            await self._handler(record)
            self.handled += 1
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self.failed += 1
            log.warning("raw consumer %s: %s at %s/%d@%d", self.name, type(error).__name__, *_where(record))

    async def _after_batch(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        if self._group_id is None:
            return
        try:
            await consumer.commit(offsets)
        except Exception as error:
            log.warning("raw consumer %s: offset commit failed: %s", self.name, error)


def _where(record: ConsumerRecord[Any, Any]) -> tuple[str, int, int]:
    return record.topic, record.partition, record.offset
