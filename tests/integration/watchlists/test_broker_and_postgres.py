"""The service's wiring on real infrastructure: its tracked EventConsumer on the real (tansu) broker
freezes the watchlist when DeploymentAuthorised is published, and the core flow on PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

from aiokafka import AIOKafkaProducer
from lfr_platform.messaging.settings import KafkaSettings

from tests.integration.watchlists._env import API, authorised, running_watchlists


async def test_deployment_authorised_on_the_broker_freezes_the_watchlist(
    tmp_path: Path, enroller, faces, kafka_settings: KafkaSettings, topic_prefix: str
) -> None:
    topic = f"{topic_prefix}lfr.deployments.events.v1"
    async with running_watchlists(tmp_path, enroller, kafka=kafka_settings, deployments_topic=topic) as env:
        wl = await env.create()
        assert (await env.add(wl, [faces["obama"]], entry_id="e-1")).status_code == 201
        messaging = asyncio.create_task(env.parts.kit._connect_messaging())
        try:
            producer = AIOKafkaProducer(**kafka_settings.producer_kwargs())
            await producer.start()
            try:
                message = authorised("dep-1", wl, 1)
                for _ in range(2):  # delivered twice: frozen once
                    await producer.send_and_wait(topic, message.to_bytes(), key=b"dep-1",
                                                 headers=message.headers())
            finally:
                await producer.stop()
            deadline = asyncio.get_running_loop().time() + 60
            while True:
                types = [e.event_type for e in await env.events(wl)]
                if "WatchlistFrozen" in types and env.parts.kit.consumers[0].skipped + \
                        env.parts.kit.consumers[0].handled >= 2:
                    break
                assert asyncio.get_running_loop().time() < deadline, types
                await asyncio.sleep(0.05)
            assert types.count("WatchlistFrozen") == 1
            assert (await env.gallery("dep-1")).version == 1
        finally:
            messaging.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await messaging
            for consumer in env.parts.kit.consumers:
                await consumer.stop()
            if env.parts.kit.relay is not None:
                await env.parts.kit.relay.stop()
            if env.parts.kit.producer is not None:
                await env.parts.kit.producer.stop()


async def test_core_flow_on_postgresql(
    tmp_path: Path, enroller, faces, new_postgres_database: Callable[[], str]
) -> None:
    async with running_watchlists(tmp_path, enroller, database_url=new_postgres_database()) as env:
        wl = await env.create()
        assert (await env.add(wl, [faces["obama"]], entry_id="e-1")).status_code == 201
        assert (await env.add(wl, [faces["biden"]], entry_id="e-2")).status_code == 201
        duplicate = await env.add(wl, [faces["obama2"]], entry_id="e-3")
        assert duplicate.json()["error"]["code"] == "duplicate_subject"
        assert await env.deliver(authorised("dep-1", wl, 2))
        gallery = await env.gallery("dep-1")
        assert sorted(e.entry_id for e in gallery.entries) == ["e-1", "e-2"] and gallery.frozen
        async with env.client("watchlist_manager") as client:
            assert (await client.get(f"{API}/{wl}/entries/e-2/images/0")).status_code == 200
        frozen = await env.add(wl, [faces["biden"]], entry_id="e-4")
        assert frozen.json()["error"]["code"] == "watchlist_frozen"
