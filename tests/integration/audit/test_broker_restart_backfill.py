"""The ledger ends complete and in each service's order although the broker is killed mid-stream.

A producer service (real SQLite store, outbox relay, EventLog gRPC) keeps appending while the real tansu
broker is killed and restarted (it loses everything: memory storage). Some of its events are on a stream
it never publishes at all, so only the gap filler can bring them. The audit side is the real thing:
`LedgerConsumer` on Kafka, `LedgerRecorder`, `GapFiller` reading the EventLog."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from pathlib import Path

from aiokafka import TopicPartition
from lfr_audit.adapters.dead_letters import DeadLetters
from lfr_audit.adapters.eventlog_client import EventLogClient
from lfr_audit.adapters.ledger_engine import create_ledger_engine
from lfr_audit.adapters.ledger_sql import SqlLedger
from lfr_audit.app.gap_filler import GapFiller
from lfr_audit.app.recorder import LedgerRecorder
from lfr_audit.entrypoints.consumers.ledger_consumer import LedgerConsumer
from lfr_platform.messaging import EmbeddedBroker, KafkaSettings, topic_name
from lfr_platform.settings import ServiceSettings

from ._producer import INTERNAL, ledger_positions, start_producer, wait_until

PARTITIONS = 2


async def test_broker_restart_mid_stream_ledger_complete_and_in_order(
    tmp_path: Path, restartable_broker: EmbeddedBroker, topic_prefix: str
) -> None:
    kafka = KafkaSettings(bootstrap_servers=restartable_broker.bootstrap_servers, request_timeout_ms=3000)
    topic = topic_name("alerts", "events", 1, prefix=topic_prefix)
    producer = await start_producer(tmp_path, "alerts", topic)
    ledger = SqlLedger(create_ledger_engine(f"sqlite+aiosqlite:///{tmp_path}/audit.db"))
    await ledger.open()
    relay = await producer.start_relay(kafka, PARTITIONS)
    client = EventLogClient("alerts", producer.target, ServiceSettings())
    dead_letters = DeadLetters(kafka, topic_prefix)
    recorder = LedgerRecorder(ledger, ordered_sources=["alerts"], on_refused=dead_letters.send_refused)
    # A long periodic interval: what the test sees filled comes from gaps the recorder noticed.
    filler = GapFiller(recorder, {"alerts": client}, interval=3600, grace=0.3)
    consumer = LedgerConsumer(
        recorder, kafka, [topic], dead_letters, group_id=f"{topic_prefix}audit",
        partitions=[TopicPartition(topic, p) for p in range(PARTITIONS)],
    )  # fmt: skip
    await consumer.start()
    filling = asyncio.create_task(filler.run())
    try:

        written = 0

        async def write_one() -> None:
            nonlocal written
            internal = written % 11 == 5  # never published: only the EventLog has these
            await producer.append(f"alert-{written % 7}", stream_type=INTERNAL if internal else "alert")
            written += 1

        async def write(count: int) -> None:
            for _ in range(count):
                await write_one()
                await asyncio.sleep(0)  # let relay, consumer and filler interleave with the writer

        stop_writing = asyncio.Event()

        async def write_until_stopped() -> None:
            # Keeps writing across the crash however quickly the audit side catches up before it.
            while not stop_writing.is_set():
                await write_one()
                await asyncio.sleep(0.002)

        async def recorded_at_least(n: int) -> bool:
            return ledger.size >= n

        writer = asyncio.create_task(write_until_stopped())
        await wait_until(lambda: recorded_at_least(40), what="entries before the crash")
        restartable_broker.kill()
        written_at_kill = len(producer.committed)

        async def written_since_kill(n: int) -> bool:
            return len(producer.committed) >= written_at_kill + n

        await wait_until(lambda: written_since_kill(40), what="appends while the broker is down")
        stop_writing.set()
        await asyncio.wait_for(writer, 60)  # the service carried on without a broker
        assert len(producer.committed) > written_at_kill
        await restartable_broker.start()
        await write(30)

        async def complete() -> bool:
            return ledger.size >= len(producer.committed)

        await wait_until(complete, within=120, what="every committed event in the ledger")
        positions = await ledger_positions(ledger, "alerts")
        assert [p for p, n in Counter(positions).items() if n > 1] == []
        assert positions == list(range(1, len(producer.committed) + 1))  # complete, in the service's order
        assert ledger.size == len(producer.committed)
        assert filler.backfilled > 0  # the unpublished events came from the EventLog
        assert consumer.received > 0  # and the rest over Kafka
        assert relay.republished > 0  # the broker really lost what it had
    finally:
        filling.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await filling
        await consumer.stop()
        await dead_letters.close()
        await client.close()
        await producer.close()
        await ledger.close()
