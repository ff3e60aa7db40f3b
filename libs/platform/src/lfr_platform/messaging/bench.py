"""Messaging benchmark: commit -> relay -> embedded tansu -> consumer, on SQLite.

`python -m lfr_platform.messaging.bench [--events N]` prints JSON: end-to-end latency of single events
(commit to the consumer's handler; what a deployment halt needs well under 1 s) and throughput of a
backlog (committed while the relay was down, then published and consumed with tracking rows).
For `lfr bench messaging`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

from aiokafka import AIOKafkaProducer, TopicPartition

from lfr_platform.eventstore.model import EventMetadata, NewEvent
from lfr_platform.eventstore.ports import EventDatabase, UnitOfWork
from lfr_platform.messaging.broker import EmbeddedBroker
from lfr_platform.messaging.consumer import EventConsumer
from lfr_platform.messaging.relay import OutboxRelay
from lfr_platform.messaging.settings import KafkaSettings
from lfr_platform.messaging.topics import TopicSpec, topic_name
from lfr_platform.messaging.wire import EventMessage


async def run(latency_events: int = 50, backlog_events: int = 500) -> dict[str, Any]:
    from lfr_platform.eventstore.sql import SqlEventDatabase

    topic = topic_name("bench", "events")
    with tempfile.TemporaryDirectory() as workdir:
        async with EmbeddedBroker() as broker:
            kafka = KafkaSettings(bootstrap_servers=broker.bootstrap_servers)
            sql_db = SqlEventDatabase(
                f"sqlite+aiosqlite:///{Path(workdir) / 'bench.db'}", router=lambda _t: topic
            )
            # ports.EventDatabase declares `outbox` as a mutable attribute, so mypy finds SqlOutbox
            # invariant-incompatible; a read-only property in the protocol would fix it at the source.
            db = cast(EventDatabase, sql_db)
            await sql_db.migrate()
            producer = AIOKafkaProducer(**kafka.producer_kwargs())
            await producer.start()
            relay = OutboxRelay(db, producer, "bench", kafka=kafka, topics=[TopicSpec(topic, partitions=3)])
            arrived: dict[str, float] = {}
            signal = asyncio.Event()
            backlog_done = asyncio.Event()

            async def handler(_uow: UnitOfWork, message: EventMessage) -> None:
                arrived[message.stream_id + "/" + str(message.version)] = time.perf_counter()
                signal.set()
                if len(arrived) == backlog_events:
                    backlog_done.set()

            consumer = EventConsumer(
                "bench", handler, db, kafka, partitions=[TopicPartition(topic, p) for p in range(3)]
            )
            for i in range(backlog_events):  # committed while the relay is down: a backlog
                await _append(db, f"b{i % 50}", i // 50)
            try:
                started = time.perf_counter()
                await relay.start()
                await consumer.start()
                await asyncio.wait_for(backlog_done.wait(), 300)
                elapsed = time.perf_counter() - started
                latencies: list[float] = []  # commit done -> consumer handler (messaging alone)
                commits: list[float] = []  # the SQLite append transaction itself
                for i in range(latency_events):
                    signal.clear()
                    started = time.perf_counter()
                    await _append(db, f"s{i}", 0)
                    committed = time.perf_counter()
                    relay.wake()
                    await asyncio.wait_for(signal.wait(), 30)
                    commits.append((committed - started) * 1000)
                    latencies.append((arrived[f"s{i}/1"] - committed) * 1000)
            finally:
                await consumer.stop()
                await relay.stop()
                await producer.stop()
                await db.dispose()
    return {
        "delivery_ms": _percentiles(latencies),
        "commit_ms": _percentiles(commits),
        "backlog": {
            "events": backlog_events,
            "seconds": round(elapsed, 2),
            "per_second": round(backlog_events / elapsed),
        },
    }


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p50": round(statistics.median(ordered), 1),
        "p95": round(ordered[max(int(len(ordered) * 0.95) - 1, 0)], 1),
        "max": round(ordered[-1], 1),
        "n": len(ordered),
    }


async def _append(db: Any, stream_id: str, version: int) -> None:
    async with db.unit_of_work() as uow:
        await uow.events.append(
            stream_id,
            "bench",
            version,
            [NewEvent(event_type="Benched", data={}, metadata=EventMetadata(actor="b", role="b"))],
        )
        await uow.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=50)
    parser.add_argument("--backlog", type=int, default=500)
    args = parser.parse_args()
    result = asyncio.run(run(args.events, args.backlog))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
