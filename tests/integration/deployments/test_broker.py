"""The deployments service on the real (embedded tansu) broker:

* the watchlist-summary projection fed by real watchlist events (the Watchlist aggregate, stored in a
  watchlists event store and published by the outbox relay) through the service's tracked consumer;
* halt → `DeploymentHalted` consumed by another service's consumer: the relay is woken by the commit.
  The full halt → ingest-stops measurement is the ingest tests'; this one bounds the deployments half.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from lfr_deployments.app import commands as c
from lfr_platform.errors import NotFound
from lfr_platform.eventstore.ports import UnitOfWork
from lfr_platform.eventstore.repository import EventSourcedRepository
from lfr_platform.eventstore.sql import SqlEventDatabase
from lfr_platform.messaging.consumer import EventConsumer
from lfr_platform.messaging.relay import OutboxRelay
from lfr_platform.messaging.settings import KafkaSettings
from lfr_platform.messaging.wire import EventMessage
from lfr_watchlists.domain.entry import AgeBand, Category, EntryDetails, EntryImage, ImageSource, SealedRef
from lfr_watchlists.domain.events import WATCHLIST_EVENTS
from lfr_watchlists.domain.watchlist import Watchlist, WatchlistPolicy

from tests.fixtures.waiting import wait_until
from tests.integration.deployments._harness import RestWorld, rest_world
from tests.unit.deployments.conftest import DEPLOYMENT, SILVER

pytestmark = pytest.mark.kafka

WATCHLISTS = EventSourcedRepository(Watchlist, WATCHLIST_EVENTS)
DEADLINE_S = 60.0  # generous: a loaded machine and tansu's group joins


def topics(prefix: str) -> dict[str, str]:
    return {"deployments_topic": f"{prefix}lfr.deployments.events.v1",
            "watchlists_topic": f"{prefix}lfr.watchlists.events.v1",
            "watchlist_consumer_name": f"{prefix.rstrip('.')}-deployments-watchlist-summary"}  # fmt: skip


@pytest.fixture
async def world(tmp_path: Path, kafka_settings: KafkaSettings, topic_prefix: str) -> AsyncIterator[RestWorld]:
    async with rest_world(tmp_path / "deployments", kafka=kafka_settings, **topics(topic_prefix)) as w:
        runtime = w.parts.kit.runtime(w.parts.app())
        messaging = asyncio.create_task(runtime.background[0]())  # the kit's relay + consumers
        try:
            await asyncio.wait_for(w.parts.kit.broker_connected.wait(), DEADLINE_S)
            yield w
        finally:
            messaging.cancel()
            await asyncio.gather(messaging, return_exceptions=True)
            await w.parts.kit.stop()


def details(**changes: object) -> EntryDetails:
    fields: dict[str, object] = {"category": Category.WANTED_ON_WARRANT, "reason": "wanted for robbery",
                                 "image_source": ImageSource.CUSTODY, "approved_by": "insp-wl",
                                 "age_band": AgeBand.ADULT}  # fmt: skip
    fields.update(changes)
    return EntryDetails(**fields)  # type: ignore[arg-type]


def image(n: int) -> tuple[EntryImage, ...]:
    return (EntryImage(image_blob_id=f"img-{n}", template_blob_id=f"tpl-{n}", taken_on=date(2026, 1, 5)),)


def sealed(n: int) -> SealedRef:
    """Where the watchlists service would have sealed the entry's personal details (not read here)."""
    return SealedRef(blob_id=f"per-{n}", sha256=f"{n:064x}")


async def test_watchlist_events_on_the_broker_build_the_summary(
    world: RestWorld, tmp_path: Path, kafka_settings: KafkaSettings, topic_prefix: str
) -> None:
    topic = topics(topic_prefix)["watchlists_topic"]
    watchlists_db = SqlEventDatabase(
        f"sqlite+aiosqlite:///{tmp_path / 'watchlists.db'}", router=lambda _: topic
    )
    await watchlists_db.migrate()
    producer = AIOKafkaProducer(**kafka_settings.producer_kwargs())
    await producer.start()
    relay = OutboxRelay(watchlists_db, producer, "watchlists", poll_interval=0.05)
    await relay.start()
    now = datetime.now(UTC)
    who = {"actor": "wlm-1", "role": "watchlist_manager", "at": now}
    try:
        wl = Watchlist.create("wl-broker", DEPLOYMENT, "Station approach", **who)
        wl.add_entry("e-adult", details(), image(1), None, WatchlistPolicy(), sealed=sealed(1), **who)
        child_born = date(now.year - 12, 3, 1)  # 11 or 12 today: under 13 when listed
        wl.add_entry("e-child", details(age_band=None, date_of_birth=child_born), image(2), None,
                     WatchlistPolicy(), sealed=sealed(2), **who)  # fmt: skip
        wl.add_entry("e-dis", details(disability=True), image(3), None, WatchlistPolicy(), sealed=sealed(3),
                     **who)  # fmt: skip
        wl.remove_entry("e-adult", "warrant executed", **who)
        wl.freeze(DEPLOYMENT, wl.revision, **who)
        async with watchlists_db.unit_of_work() as uow:
            await WATCHLISTS.save(uow.events, wl)
            await uow.commit()
        relay.wake()

        async def frozen() -> bool:
            try:
                return (await world.parts.summaries.summary("wl-broker", date(2026, 11, 23))).frozen
            except NotFound:
                return False

        await wait_until(frozen, "the projection to see WatchlistFrozen", within=DEADLINE_S)
        s = await world.parts.summaries.summary("wl-broker", date(2026, 11, 23))
        assert s.deployment_id == DEPLOYMENT and s.version == 4 and s.size == 2
        child, disabled = s.entries
        assert (child.entry_id, child.under_18, child.under_13, child.disability) == (
            "e-child",
            True,
            True,
            False,
        )
        # The events carry the age band as listed, never the date of birth: a later date asked does not
        # make the child older than on the day of listing.
        older = await world.parts.summaries.summary("wl-broker", date(now.year + 2, 11, 23))
        assert (older.entries[0].under_18, older.entries[0].under_13) == (True, True)
        assert (disabled.entry_id, disabled.under_18, disabled.disability) == ("e-dis", False, True)

        wl.reopen("deployment needs re-authorisation", **who)
        wl.purge("deployment ended: retention", **who)
        async with watchlists_db.unit_of_work() as uow:
            await WATCHLISTS.save(uow.events, wl)
            await uow.commit()
        relay.wake()

        async def purged() -> bool:
            try:
                await world.parts.summaries.summary("wl-broker", date(2026, 11, 23))
            except NotFound:
                return True
            return False

        await wait_until(purged, "the projection to forget the purged watchlist", within=DEADLINE_S)
        assert (
            world.parts.watchlist_consumer.handled == 8 and world.parts.watchlist_consumer.dead_lettered == 0
        )
    finally:
        await relay.stop()
        await producer.stop()
        await watchlists_db.dispose()


async def test_halt_reaches_another_services_consumer_promptly(
    world: RestWorld, tmp_path: Path, kafka_settings: KafkaSettings, topic_prefix: str
) -> None:
    seen: dict[str, float] = {}
    started = asyncio.Event()
    halted = asyncio.Event()

    async def on_deployment_event(_uow: UnitOfWork, message: EventMessage) -> None:
        seen.setdefault(message.event_type, time.perf_counter())
        if message.event_type == "DeploymentStarted":
            started.set()
        if message.event_type == "DeploymentHalted":
            halted.set()

    probe_db = SqlEventDatabase(f"sqlite+aiosqlite:///{tmp_path / 'probe.db'}", router=lambda _: None)
    await probe_db.migrate()
    probe = EventConsumer(f"{topic_prefix.rstrip('.')}-probe", on_deployment_event, probe_db, kafka_settings,
                          topics=[topics(topic_prefix)["deployments_topic"]])  # fmt: skip
    await probe.start()
    try:
        await world.live()
        await asyncio.wait_for(started.wait(), DEADLINE_S)  # the probe has joined and caught up
        began = time.perf_counter()
        await world.run(c.HaltDeployment(actor=SILVER[0], role=SILVER[1], deployment_id=DEPLOYMENT,
                                         reason="crowd surge at the barriers"))  # fmt: skip
        await asyncio.wait_for(halted.wait(), 10.0)  # generous; the benchmark figure is printed below
        latency_ms = (seen["DeploymentHalted"] - began) * 1000
        print(json.dumps({"bench": "deployments.halt_to_consumer", "latency_ms": round(latency_ms, 1)}))
    finally:
        await probe.stop()
        await probe_db.dispose()
