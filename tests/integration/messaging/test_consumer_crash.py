"""Kill a consumer mid-batch (its effects for part of the batch are committed in the database, its Kafka
offsets are not) and start it again: every event still has exactly one effect."""

from __future__ import annotations

import asyncio
from collections import Counter

from lfr_platform.eventstore import UnitOfWork
from lfr_platform.messaging import EventMessage

from tests.fixtures.waiting import wait_until

from ._pipeline import Pipeline, record_effect

# All 200 small messages arrive in one fetch, so the first batch holds 100: the crash at the 57th leaves
# 56 effects committed in the database and no Kafka offset committed for them.
KILL_AT = 57
BATCH = 100


async def test_consumer_killed_mid_batch_resumes_without_lost_or_duplicate_effects(
    pipeline: Pipeline,
) -> None:
    for i in range(200):
        await pipeline.append(f"stream-{i % 9}")
    await pipeline.relay()
    await wait_until(lambda: _nothing_pending(pipeline), what="the relay to publish everything")

    stuck = asyncio.Event()
    handled = 0

    async def effect_then_hang(uow: UnitOfWork, message: EventMessage) -> None:
        nonlocal handled
        handled += 1
        if handled == KILL_AT:
            stuck.set()
            await asyncio.Event().wait()  # hangs until the task is cancelled: the crash point
        await record_effect(uow, message)

    first = await pipeline.consumer(handler=effect_then_hang, batch_size=BATCH)
    await asyncio.wait_for(stuck.wait(), 60)
    assert first.task is not None
    first.task.cancel()  # the crash: no offset commit for the batch in hand
    await first.stop()
    effects_before_restart = len(await pipeline.effects())
    assert effects_before_restart == KILL_AT - 1

    second = await pipeline.consumer(batch_size=BATCH)

    async def all_effected() -> bool:
        return len(await pipeline.effects()) >= len(pipeline.committed)

    await wait_until(all_effected, what="every event to take effect after the restart")
    effects = await pipeline.effects()
    assert [e for e, n in Counter(effects).items() if n > 1] == []
    assert sorted(effects) == sorted(str(e) for e in pipeline.committed)
    # The restarted consumer was redelivered the uncommitted part of the batch and skipped it.
    assert second.skipped > 0


async def _nothing_pending(pipeline: Pipeline) -> bool:
    return not await pipeline.db.outbox.pending()
