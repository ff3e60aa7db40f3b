"""The relay publishes committed events only, keyed by stream id, in per-stream order."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer
from lfr_platform.messaging import EventMessage

from tests.fixtures.waiting import wait_until

from ._pipeline import Pipeline


async def test_only_committed_events_are_published_keyed_and_in_order(pipeline: Pipeline) -> None:
    rolled_back = []
    for i in range(30):
        stream = f"stream-{i % 4}"
        if i % 5 == 2:
            rolled_back.append((await pipeline.append(stream, commit=False)).event_id)
        await pipeline.append(stream)
    relay = await pipeline.relay()

    reader = AIOKafkaConsumer(**pipeline.kafka.consumer_kwargs(group_id=None))
    await reader.start()
    reader.assign(pipeline.partitions)
    received: list[tuple[bytes | None, EventMessage]] = []
    try:

        async def all_received() -> bool:
            batch = await reader.getmany(timeout_ms=200)
            for records in batch.values():
                received.extend((r.key, EventMessage.from_bytes(r.value)) for r in records)
            return len(received) >= len(pipeline.committed)

        await wait_until(all_received, what="the committed events on the topic")
    finally:
        await reader.stop()

    ids = [message.event_id for _key, message in received]
    assert sorted(ids) == sorted(pipeline.committed)  # each once, nothing else
    assert not set(rolled_back) & set(ids)
    assert all(key == message.stream_id.encode() for key, message in received)
    for stream in {m.stream_id for _k, m in received}:
        versions = [m.version for _k, m in received if m.stream_id == stream]
        assert versions == list(range(1, len(versions) + 1))

    async def all_marked_published() -> bool:  # the marking follows the broker's acks
        return not await pipeline.db.outbox.pending()

    await wait_until(all_marked_published, what="the outbox rows to be marked published")
    assert relay.published == len(pipeline.committed)
