"""The outbox relay: publishes committed events to Kafka, in order, at least once.

Rows come from `db.outbox.pending()` in commit order and are marked published only after the broker
acknowledged them. A crash between ack and mark republishes (consumers dedupe by event id).

The embedded broker keeps messages in memory, so a restart loses them. The relay notices in two ways and
then calls `outbox.republish_since(...)` so every event is delivered again:
  * an ack on a partition at an offset at or below one it already had acknowledged (the log restarted);
  * a periodic probe of each partition's end offset (ListOffsets). tansu 0.6 under-reports it: it
    answers the base offset of the last record batch + 1, not the last offset + 1 (measured: 12 records
    in 4 batches of 3 -> 10). So the probe calls it a loss only when the end is at or below the first
    offset the relay had acknowledged in its latest publish round on that partition, which no record
    batch of that round can precede. A loss within the latest round is caught by the first check
    instead, as soon as the partition is written again.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import RecordMetadata
from opentelemetry.trace import TracerProvider

from lfr_platform.eventstore.ports import EventDatabase, OutboxRecord
from lfr_platform.messaging.settings import KafkaSettings
from lfr_platform.messaging.topics import TopicSpec, ensure_topics
from lfr_platform.messaging.tracing import context_from_carrier, producer_span, trace_headers
from lfr_platform.messaging.wire import EventMessage
from lfr_platform.waiting import wait_at_most

log = logging.getLogger(__name__)

# How many (offset, outbox id) acks to remember per partition to find where a loss starts; beyond it
# the relay republishes everything (safe: consumers dedupe).
_ACK_MEMORY = 10_000


class _AckLedger:
    """What the broker acknowledged, per partition: enough to tell which outbox rows it later lost."""

    def __init__(self) -> None:
        self._acks: dict[TopicPartition, deque[tuple[int, int]]] = {}
        self._round_start: dict[TopicPartition, int] = {}
        self._round: set[TopicPartition] = set()

    def partitions(self) -> list[TopicPartition]:
        return list(self._acks)

    def highest(self, tp: TopicPartition) -> int | None:
        acks = self._acks.get(tp)
        return acks[-1][0] if acks else None

    def begin_round(self) -> None:
        self._round = set()

    def round_start(self, tp: TopicPartition) -> int | None:
        """The first offset acknowledged on `tp` in the latest publish round that wrote to it."""
        return self._round_start.get(tp)

    def record(self, tp: TopicPartition, offset: int, outbox_id: int) -> bool:
        """Remember an ack; False if it proves the partition's log restarted below what we had."""
        acks = self._acks.setdefault(tp, deque(maxlen=_ACK_MEMORY))
        if acks and offset <= acks[-1][0]:
            return False
        acks.append((offset, outbox_id))
        if tp not in self._round:
            self._round.add(tp)
            self._round_start[tp] = offset
        return True

    def lost_since(self, tp: TopicPartition, end_offset: int) -> int:
        """The outbox id after which rows must be republished, given the partition now ends at
        `end_offset` (offsets >= end_offset were lost)."""
        acks = self._acks.get(tp)
        if not acks or acks[0][0] > end_offset:
            return 0  # the loss starts before what we remember: everything
        lost = [outbox_id for offset, outbox_id in acks if offset >= end_offset]
        return min(lost) - 1 if lost else acks[-1][1]

    def clear(self) -> None:
        self._acks.clear()
        self._round_start.clear()
        self._round = set()


class OutboxRelay:
    def __init__(
        self,
        db: EventDatabase,
        producer: AIOKafkaProducer,
        service: str,
        *,
        poll_interval: float = 1.0,
        batch_size: int = 500,
        kafka: KafkaSettings | None = None,
        topics: Sequence[TopicSpec] = (),
        loss_check_interval: float = 2.0,
        max_backoff: float = 5.0,
        tracer_provider: TracerProvider | None = None,
    ) -> None:
        """`kafka` enables the idle loss probe and, with `topics`, re-creating topics (with their
        configs) that the broker lost before republishing into them."""
        self._db = db
        self._producer = producer
        self._service = service
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._kafka = kafka
        self._topics = list(topics)
        self._loss_check_interval = loss_check_interval
        self._max_backoff = max_backoff
        self._tracer_provider = tracer_provider
        self._acks = _AckLedger()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._probe: AIOKafkaConsumer | None = None
        self.published = 0
        self.republished = 0

    def wake(self) -> None:
        """Publish now (call after a commit that wrote outbox rows)."""
        self._wakeup.set()

    async def start(self) -> None:
        """Returns at once; topics are ensured by the loop, which waits for the broker if needed."""
        self._task = asyncio.create_task(self._run(), name=f"outbox-relay-{self._service}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
        if self._probe is not None:
            await self._probe.stop()
            self._probe = None

    async def _run(self) -> None:
        backoff = 0.1
        loop = asyncio.get_running_loop()
        next_check = loop.time() + self._loss_check_interval
        topics_ready = not (self._topics and self._kafka is not None)
        while True:
            try:
                if not topics_ready:  # before the first publish, or tansu would auto-create them bare
                    await self._ensure_topics()
                    topics_ready = True
                sent = await self.publish_pending()
                if loop.time() >= next_check:
                    await self.check_for_loss()
                    next_check = loop.time() + self._loss_check_interval
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except Exception as error:  # broker down, database hiccup: nothing is lost, try again
                log.warning("outbox relay: %s; retrying in %.1fs", type(error).__name__, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            if sent >= self._batch_size:
                continue  # more waiting: no pause
            await wait_at_most(self._poll_interval, self._wakeup.wait())
            self._wakeup.clear()

    async def publish_pending(self) -> int:
        """Publish one batch of pending rows; returns how many were acknowledged and marked."""
        records = list(await self._db.outbox.pending(self._batch_size))
        if not records:
            return 0
        futures: list[asyncio.Future[RecordMetadata]] = []
        send_error: BaseException | None = None
        for record in records:
            try:
                futures.append(await self._send(record))
            except Exception as error:  # e.g. no metadata while the broker is down
                send_error = error
                break
        results = await asyncio.gather(*futures, return_exceptions=True)
        acked: list[int] = []
        self._acks.begin_round()
        log_restarted = False
        first_error: BaseException | None = None
        for record, result in zip(records, results, strict=False):
            if isinstance(result, BaseException):
                first_error = result
                break  # keep order: only the acknowledged prefix counts as published
            if not self._acks.record(result.topic_partition, result.offset, record.outbox_id):
                log_restarted = True
            acked.append(record.outbox_id)
        if acked:
            await self._db.outbox.mark_published(acked)
            self.published += len(acked)
        if log_restarted:
            await self._recover(0, "a partition's offsets went backwards")
        first_error = first_error or send_error
        if first_error is not None:
            raise first_error
        return len(acked)

    async def _send(self, record: OutboxRecord) -> asyncio.Future[RecordMetadata]:
        message = EventMessage.from_stored(record.event, self._service)
        metadata = record.event.metadata
        parent = context_from_carrier(
            {"traceparent": metadata.traceparent, "tracestate": metadata.tracestate}
        )
        with producer_span(
            record.topic, parent, self._tracer_provider, **{"lfr.event_type": message.event_type}
        ):
            headers = message.headers() + trace_headers()
            future: asyncio.Future[RecordMetadata] = await self._producer.send(
                record.topic, message.to_bytes(), key=record.key.encode(), headers=headers
            )
        return future

    async def check_for_loss(self) -> bool:
        """Compare what the broker holds with what it acknowledged; republish what it lost."""
        partitions = self._acks.partitions()
        if self._kafka is None or not partitions:
            return False
        probe = await self._probe_consumer()
        ends = await probe.end_offsets(partitions)
        since: int | None = None
        for tp in partitions:
            round_start = self._acks.round_start(tp)
            if round_start is not None and ends.get(tp, 0) <= round_start:
                lost_from = self._acks.lost_since(tp, ends.get(tp, 0))
                since = lost_from if since is None else min(since, lost_from)
        if since is None:
            return False
        await self._recover(since, "the broker holds fewer messages than it acknowledged")
        return True

    async def _recover(self, since_outbox_id: int, why: str) -> None:
        # Republish before forgetting the acks: if the database is down, the next check finds the loss again.
        count = await self._db.outbox.republish_since(since_outbox_id)
        self._acks.clear()
        self.republished += count
        log.warning("outbox relay: %s; republishing %d after outbox id %d", why, count, since_outbox_id)
        if self._topics and self._kafka is not None:
            try:  # give lost topics back their partitions and configs before refilling them
                await self._ensure_topics()
            except Exception as error:
                log.warning("outbox relay: re-creating topics failed (%s); the broker may auto-create", error)
        self.wake()

    async def _probe_consumer(self) -> AIOKafkaConsumer:
        if self._probe is None:
            assert self._kafka is not None
            probe = AIOKafkaConsumer(**self._kafka.consumer_kwargs(group_id=None))
            await probe.start()
            self._probe = probe
        return self._probe

    async def _ensure_topics(self) -> None:
        assert self._kafka is not None
        admin = AIOKafkaAdminClient(**self._kafka.admin_kwargs())
        await admin.start()
        try:
            await ensure_topics(admin, self._topics)
        finally:
            await admin.close()
