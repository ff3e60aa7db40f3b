"""A graceful stop: the record in hand is finished and its offset committed (an idle consumer is simply
cancelled: it holds nothing)."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer
from lfr_platform.eventstore import UnitOfWork
from lfr_platform.messaging import EventMessage

from ._pipeline import Pipeline, record_effect


async def test_stop_finishes_the_record_in_hand_and_commits_its_offset(pipeline: Pipeline) -> None:
    await pipeline.append("stream-1")
    await pipeline.relay()
    handling = asyncio.Event()
    release = asyncio.Event()

    async def slow_effect(uow: UnitOfWork, message: EventMessage) -> None:
        handling.set()
        await release.wait()
        await record_effect(uow, message)

    consumer = await pipeline.consumer(handler=slow_effect)
    await asyncio.wait_for(handling.wait(), 60)
    stopping = asyncio.create_task(consumer.stop())
    await asyncio.sleep(0)  # stop() has begun while the handler still holds the record
    assert not stopping.done()
    release.set()
    await stopping

    assert len(await pipeline.effects()) == 1
    group = AIOKafkaConsumer(**pipeline.kafka.consumer_kwargs(f"{pipeline.prefix}effects"))
    await group.start()
    try:
        committed = [await group.committed(tp) for tp in pipeline.partitions]
    finally:
        await group.stop()
    assert sum(offset or 0 for offset in committed) == 1  # the one record, on its partition
