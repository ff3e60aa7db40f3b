"""The alerts-leg bench against the real app and broker: every published match arrives on the stream,
and the result has the stable keys `lfr bench e2e --json` reports (numbers are printed, not asserted)."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest
from lfr_alerts.bench import run_alerts_leg_bench
from lfr_platform.messaging.settings import KafkaSettings

from tests.integration.alerts._env import running_alerts

pytestmark = pytest.mark.kafka


async def test_alerts_leg_bench_collects_every_match(tmp_path: Path, kafka_settings: KafkaSettings) -> None:
    topic = f"t{uuid.uuid4().hex[:8]}.lfr.inference.events.v1"
    async with running_alerts(tmp_path, kafka=kafka_settings, alerts_match_topic=topic) as env:
        consumer = env.parts.kit.consumers[0]  # FaceMatched (the watchlist-media one is not started)
        await consumer.start()
        try:
            # The first run waits out the consumer group's join; the second measures the steady state.
            await asyncio.to_thread(
                run_alerts_leg_bench, env.base_url, kafka_settings.bootstrap_servers,
                lambda user, role: env.token(role, user), samples=1, fps=10.0, topic=topic,
            )  # fmt: skip
            result = await asyncio.to_thread(
                run_alerts_leg_bench, env.base_url, kafka_settings.bootstrap_servers,
                lambda user, role: env.token(role, user), samples=5, fps=10.0, topic=topic,
            )  # fmt: skip
        finally:
            await consumer.stop()
    print(json.dumps(result))
    assert {"p50_ms", "p95_ms", "samples", "fps", "cameras"} <= result.keys()
    assert result["samples"] == 5 and result["cameras"] == 1 and result["fps"] == 10.0
    assert 0 < result["p50_ms"] <= result["p95_ms"]
