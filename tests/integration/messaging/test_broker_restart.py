"""Kill the broker while events flow, restart it: every committed event reaches the consumer's effect
exactly once. The embedded broker loses everything on restart (memory storage), so this exercises the
relay's loss detection + republish and the consumer's rewind + tracking."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest
from lfr_platform.messaging import EmbeddedBroker

from tests.fixtures.kafka import kafka_settings_for
from tests.fixtures.waiting import wait_until

from ._pipeline import make_pipeline


@pytest.mark.parametrize("subscribe", [False, True], ids=["assigned", "consumer-group"])
async def test_broker_killed_mid_flow_every_committed_event_has_exactly_one_effect(
    tmp_path: Path, restartable_broker: EmbeddedBroker, topic_prefix: str, subscribe: bool
) -> None:
    kafka = kafka_settings_for(restartable_broker.bootstrap_servers)
    pipeline = await make_pipeline(tmp_path, kafka, topic_prefix)
    try:
        relay = await pipeline.relay(loss_check_interval=0.5)
        consumer = await pipeline.consumer(subscribe=subscribe)

        async def write(count: int) -> None:
            for i in range(count):
                await pipeline.append(f"camera-{i % 7}")
                relay.wake()
                await asyncio.sleep(0)  # let relay and consumer interleave with the writer

        async def effects_at_least(n: int) -> bool:
            return len(await pipeline.effects()) >= n

        writer = asyncio.create_task(write(80))
        await wait_until(lambda: effects_at_least(40), what="effects before the crash")
        restartable_broker.kill()  # SIGKILL, while the writer may still be appending
        await writer
        await write(40)  # certainly while the broker is down
        await restartable_broker.start()
        await write(30)  # and after it came back

        async def all_effected() -> bool:
            return len(await pipeline.effects()) >= len(pipeline.committed)

        await wait_until(all_effected, within=90, what="every committed event to take effect")
        await asyncio.sleep(0)
        effects = await pipeline.effects()
        duplicates = [e for e, n in Counter(effects).items() if n > 1]
        assert duplicates == []
        assert sorted(effects) == sorted(str(e) for e in pipeline.committed)
        assert relay.republished > 0  # the loss was noticed and repaired...
        assert consumer.skipped > 0  # ...and the redelivered events were recognised
    finally:
        await pipeline.close()
