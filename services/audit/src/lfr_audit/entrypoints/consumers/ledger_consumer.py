"""The Kafka side of the ledger: every domain event topic, appended per poll batch.

Why not the tracked `EventConsumer`: its exactly-once effect comes from a tracking row written in the
same transaction as the effect, one transaction per message. The ledger already is idempotent by
(source service, event id) and its append is the effect, so a tracking row would only add a second
transaction per event. Instead each poll batch goes to the recorder in one call (one ledger transaction
for the whole batch), and the Kafka offsets are committed after it. A redelivery is recognised by the
recorder's per-service watermark (in memory) or, at worst, by the ledger's unique key; an event held back
or lost before it reached the ledger is read again from its service's event log by the gap filler. So:
at-least-once delivery, exactly-once record, and batches of hundreds of events per transaction.

A message that is not an `EventMessage` goes to the dead-letter topic with its error, like an
EventConsumer's; an event refused for biometric content goes there too (see `DeadLetters`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from lfr_platform.messaging.consumer import RawConsumer, is_transient
from lfr_platform.messaging.settings import KafkaSettings
from lfr_platform.messaging.topics import TopicSpec, ensure_topics
from lfr_platform.messaging.wire import EventMessage
from pydantic import ValidationError

from lfr_audit.adapters.dead_letters import DeadLetters
from lfr_audit.app.recorder import LedgerRecorder
from lfr_audit.domain.canonical import LedgerEntry

log = logging.getLogger(__name__)

CONSUMER_NAME = "audit-ledger"


class LedgerConsumer(RawConsumer):
    def __init__(
        self,
        recorder: LedgerRecorder,
        kafka: KafkaSettings,
        topics: Sequence[str],
        dead_letters: DeadLetters,
        *,
        group_id: str = CONSUMER_NAME,
        partitions: Sequence[TopicPartition] | None = None,
        batch_size: int = 500,
        ensure_topics_exist: bool = False,
    ) -> None:
        super().__init__(
            CONSUMER_NAME,
            self._collect,
            kafka,
            topics=() if partitions is not None else topics,
            partitions=partitions,
            group_id=group_id,
            batch_size=batch_size,
            start_at_end=False,  # assigned partitions: read from the committed offset or the beginning
        )
        self._recorder = recorder
        self._kafka_settings = kafka
        self._topic_names = list(topics)
        self._dead_letters = dead_letters
        self._ensure = ensure_topics_exist
        self._batch: list[LedgerEntry] = []
        self.received = 0

    async def start(self) -> None:
        if self._ensure:
            await self._ensure_topics()
        await super().start()

    async def _ensure_topics(self) -> None:
        """Off by default: a topic belongs to its producer, which creates it with its configs (creating it
        bare here would make the owner's config check fail). A topic that appears later is noticed at the
        next metadata refresh; until then the gap filler brings its events from the EventLog."""
        admin = AIOKafkaAdminClient(**self._kafka_settings.admin_kwargs())
        try:
            await admin.start()
            await ensure_topics(admin, [TopicSpec(topic) for topic in self._topic_names])
        except Exception as error:
            log.warning("audit: could not ensure the event topics: %s", error)
        finally:
            await admin.close()

    async def _collect(self, record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            message = EventMessage.from_bytes(record.value)
            entry = LedgerEntry.from_stored_event(message.source, message)
        except (ValidationError, ValueError, TypeError) as error:
            await self._dead_letters.send_record(record, f"{type(error).__name__}: {error}")
            return
        self.received += 1
        self._batch.append(entry)

    async def _after_batch(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        batch, self._batch = self._batch, []
        delay = 0.1
        while batch:
            try:
                await self._recorder.offer(batch)
                break
            except asyncio.CancelledError:
                raise
            except Exception as error:
                # A database outage must not lose the batch nor kill the loop; anything else is a bug,
                # but the events are safe in their sources: drop the batch and let the gap filler fetch it.
                if not is_transient(error):
                    log.exception("audit: recording a batch of %d failed; leaving it to backfill", len(batch))
                    break
                log.warning("audit: ledger unavailable (%s); retrying in %.1fs", type(error).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
        await super()._after_batch(consumer, offsets)
