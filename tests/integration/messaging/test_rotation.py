"""The frames stream on the embedded broker: tansu ignores retention, so frames rotate over slot topics
and the recycler empties the next slot each window. Memory stays bounded and a live consumer keeps
receiving every frame across recycles."""

from __future__ import annotations

from pathlib import Path

from aiokafka import AIOKafkaProducer, ConsumerRecord
from lfr_platform.messaging import EmbeddedBroker, KafkaSettings, RawConsumer
from lfr_platform.messaging.rotation import RotatingTopic, TopicRecycler

from tests.fixtures.waiting import wait_until

FRAME = 100_000  # bytes: a small encrypted JPEG
FRAMES_PER_WINDOW = 100
WINDOWS = 8


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


async def test_rotation_bounds_broker_memory_and_consumers_follow_recycled_slots(
    restartable_broker: EmbeddedBroker, topic_prefix: str
) -> None:
    kafka = KafkaSettings(bootstrap_servers=restartable_broker.bootstrap_servers)
    rotation = RotatingTopic(f"{topic_prefix}lfr.ingest.frames.v1", slots=3, slot_seconds=10, partitions=1)
    recycler = TopicRecycler(kafka, [rotation])
    await recycler.prepare()

    received: list[bytes] = []

    async def collect(record: ConsumerRecord[bytes, bytes]) -> None:
        assert record.value is not None
        received.append(record.value[:16])

    consumer = RawConsumer("frames", collect, kafka, partitions=rotation.topic_partitions())
    await consumer.start()
    producer = AIOKafkaProducer(**kafka.producer_kwargs())
    await producer.start()
    assert restartable_broker.pid is not None
    idle_rss = _rss_mb(restartable_broker.pid)
    sent: list[bytes] = []
    peak_rss = idle_rss
    try:
        for window in range(WINDOWS):
            now = window * rotation.slot_seconds
            await recycler.recycle_due(now)
            topic = rotation.current(now)
            for i in range(FRAMES_PER_WINDOW):
                tag = f"w{window:03d}f{i:04d}".ljust(16).encode()
                await producer.send(topic, tag + bytes(FRAME - 16), key=b"camera-1")
                sent.append(tag)
            await producer.flush()

            async def caught_up() -> bool:
                return len(received) >= len(sent)

            await wait_until(caught_up, what=f"the frames of window {window}")
            peak_rss = max(peak_rss, _rss_mb(restartable_broker.pid))
    finally:
        await producer.stop()
        await consumer.stop()

    assert sorted(received) == sorted(sent)  # every frame, once, across recycled slots
    assert recycler.recycled == WINDOWS
    produced_mb = WINDOWS * FRAMES_PER_WINDOW * FRAME / 1e6
    # At most the current and previous windows stay (20 MB); without recycling all 80 MB would.
    assert peak_rss - idle_rss < produced_mb / 2, (idle_rss, peak_rss, produced_mb)
