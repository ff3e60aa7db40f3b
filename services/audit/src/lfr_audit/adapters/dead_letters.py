"""The audit service's dead-letter path: `lfr.dlq.audit-ledger.v1`, with the error in headers, the same
shape an `EventConsumer` uses, so operators read one kind of dead letter."""

from __future__ import annotations

import logging

from aiokafka import AIOKafkaProducer, ConsumerRecord
from lfr_platform.messaging.settings import KafkaSettings
from lfr_platform.messaging.topics import dead_letter_topic

from lfr_audit.domain.canonical import LedgerEntry, canonical_json

log = logging.getLogger(__name__)

CONSUMER = "audit-ledger"


class DeadLetters:
    def __init__(self, kafka: KafkaSettings, topic_prefix: str = "") -> None:
        self._kafka = kafka
        self.topic = dead_letter_topic(CONSUMER, topic_prefix)
        self._producer: AIOKafkaProducer | None = None
        self.sent = 0

    async def _send(self, value: bytes, key: bytes | None, headers: list[tuple[str, bytes]]) -> None:
        if self._producer is None:
            producer = AIOKafkaProducer(**self._kafka.producer_kwargs())
            await producer.start()
            self._producer = producer
        await self._producer.send_and_wait(self.topic, value, key=key, headers=headers)
        self.sent += 1

    async def send_record(self, record: ConsumerRecord[bytes, bytes], error: str) -> None:
        """An unreadable message: forwarded as it came (it failed to parse; it is not recorded)."""
        headers = (
            list(record.headers or ())
            + _error_headers(error)
            + [
                ("dlq.topic", record.topic.encode()),
                ("dlq.partition", str(record.partition).encode()),
                ("dlq.offset", str(record.offset).encode()),
            ]
        )
        try:
            await self._send(record.value or b"", record.key, headers)
        except Exception as failure:
            log.warning("audit: dead letter for %s/%d@%d not sent: %s", *_where(record), failure)

    async def send_refused(self, entry: LedgerEntry, error: str) -> None:
        """An event refused for biometric content. The ledger holds only its refusal and data hash; the
        event itself goes here for operators, on a topic that carries the producer's own data."""
        await self._send(canonical_json(entry.as_payload()), entry.stream_id.encode(), _error_headers(error))

    async def close(self) -> None:
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()


def _error_headers(error: str) -> list[tuple[str, bytes]]:
    return [("dlq.error", error[:2000].encode()), ("dlq.consumer", CONSUMER.encode())]


def _where(record: ConsumerRecord[bytes, bytes]) -> tuple[str, int, int]:
    return record.topic, record.partition, record.offset
