"""Bounded memory for the frames topic on a broker that ignores retention.

Measured on tansu 0.6 with `memory://` storage: topic configs `retention.ms`, `segment.ms`,
`retention.bytes` and `segment.bytes` are stored and described back but never applied (after 3 s
retention 800 x 100 KB messages were all still there, broker RSS grew ~100 MB), and DeleteRecords drops
the connection. Deleting a topic does free its memory (RSS back to the idle ~20 MB at once).

So a short-lived stream is spread over `slots` topics `<base>.s<k>`, each used for `slot_seconds` in
turn: at time t producers write to slot `floor(t / slot_seconds) % slots`. A `TopicRecycler` deletes and
recreates the *next* slot at the start of every window, so it is empty when producers move on to it.
What the broker holds is then at most the current and the previous window: with 3 slots of 20 s, under
40 s of frames (~40 MB per 1 MB/s camera) and nothing older than 60 s. On a real cluster the same
topics also carry `retention.ms`, which Kafka honours, so the recycler is optional there.

Consumers assign all partitions of all slots directly (a group would rejoin, ~5 s on tansu, at every
recycle). A recycled partition restarts at offset 0 below the consumer's position; `RawConsumer`
notices the log ending below its position and reads the partition again from the start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import UnknownTopicOrPartitionError

from lfr_platform.messaging.settings import KafkaSettings
from lfr_platform.messaging.topics import TopicSpec, ensure_topics

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RotatingTopic:
    base: str
    slots: int = 3
    slot_seconds: float = 20.0
    partitions: int = 3

    def __post_init__(self) -> None:
        if self.slots < 3:
            raise ValueError("a rotation needs 3 slots: current, previous (being read), next (recycled)")

    def window(self, now: float) -> int:
        return int(now // self.slot_seconds)

    def topic(self, slot: int) -> str:
        return f"{self.base}.s{slot % self.slots}"

    def current(self, now: float | None = None) -> str:
        """The topic producers write to now."""
        return self.topic(self.window(time.time() if now is None else now))

    def next_to_recycle(self, now: float) -> str:
        return self.topic(self.window(now) + 1)

    def topics(self) -> list[str]:
        return [self.topic(k) for k in range(self.slots)]

    def topic_partitions(self) -> list[TopicPartition]:
        return [TopicPartition(t, p) for t in self.topics() for p in range(self.partitions)]

    def spec(self, name: str) -> TopicSpec:
        # Kafka proper honours this; a slot never needs to keep more than a full rotation.
        retention_ms = int(self.slots * self.slot_seconds * 1000)
        return TopicSpec(name, partitions=self.partitions, configs={"retention.ms": str(retention_ms)})

    def specs(self) -> list[TopicSpec]:
        return [self.spec(t) for t in self.topics()]


class TopicRecycler:
    """Empties the next slot of each rotation at the start of every window (delete, then recreate)."""

    def __init__(
        self,
        kafka: KafkaSettings,
        rotations: list[RotatingTopic],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._kafka = kafka
        self._rotations = rotations
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._done: dict[str, int] = {}
        self.recycled = 0

    async def prepare(self) -> None:
        """Create every slot topic (idempotent)."""
        admin = await self._admin()
        try:
            await ensure_topics(admin, [spec for r in self._rotations for spec in r.specs()])
        finally:
            await admin.close()

    async def start(self) -> None:
        await self.prepare()
        await self.recycle_due(self._clock())  # the next slots may still hold a previous run's frames
        self._task = asyncio.create_task(self._run(), name="topic-recycler")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    async def recycle_due(self, now: float) -> int:
        """Empty the next slot of every rotation whose window changed since the last pass."""
        count = 0
        for rotation in self._rotations:
            window = rotation.window(now)
            if self._done.get(rotation.base) == window:
                continue
            admin = await self._admin()
            try:
                await self._recycle(admin, rotation, rotation.next_to_recycle(now))
            finally:
                await admin.close()
            self._done[rotation.base] = window
            count += 1
        return count

    async def _run(self) -> None:
        while True:
            now = self._clock()
            try:
                await self.recycle_due(now)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # broker briefly away: try again shortly, same window
                log.warning("topic recycler: %s", error)
                await asyncio.sleep(1.0)
                continue
            wait = min(r.slot_seconds - (now % r.slot_seconds) for r in self._rotations)
            await asyncio.sleep(max(wait, 0.05))

    async def _recycle(self, admin: AIOKafkaAdminClient, rotation: RotatingTopic, topic: str) -> None:
        try:
            await admin.delete_topics([topic])
        except UnknownTopicOrPartitionError:
            pass
        await ensure_topics(admin, [rotation.spec(topic)])
        self.recycled += 1
        log.info("topic recycler: emptied %s", topic)

    async def _admin(self) -> AIOKafkaAdminClient:
        admin = AIOKafkaAdminClient(**self._kafka.admin_kwargs())
        await admin.start()
        return admin
