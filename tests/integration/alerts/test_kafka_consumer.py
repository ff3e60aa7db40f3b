"""The real consumer path: a FaceMatched published on the (real, embedded tansu) broker becomes an alert,
and the alert's events are routed to lfr.alerts.events.v1 through the outbox."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from lfr_alerts.app.handlers import alert_id_for
from lfr_platform.messaging.settings import KafkaSettings

from tests.integration.alerts._env import face_matched, running_alerts

pytestmark = pytest.mark.kafka


async def test_face_matched_on_the_broker_raises_an_alert(
    tmp_path: Path, kafka_settings: KafkaSettings
) -> None:
    topic = f"t{uuid.uuid4().hex[:8]}.lfr.inference.events.v1"
    async with running_alerts(tmp_path, kafka=kafka_settings, alerts_match_topic=topic) as env:
        consumer = env.parts.kit.consumers[0]  # FaceMatched (the watchlist-media one is not started)
        producer = AIOKafkaProducer(**kafka_settings.producer_kwargs())
        await producer.start()
        try:
            message = face_matched(deployment_id="dep-k")
            await producer.send_and_wait(topic, message.to_bytes(), key=b"dep-k", headers=message.headers())
            await consumer.start()
            alert_id = alert_id_for(message.event_id)
            deadline = asyncio.get_running_loop().time() + 30
            while (view := await env.parts.ctx.views.get(alert_id)) is None:
                assert asyncio.get_running_loop().time() < deadline, "no alert from the broker's FaceMatched"
                await asyncio.sleep(0.05)
            assert view["deployment_id"] == "dep-k" and view["status"] == "pending"
            pending = await env.parts.ctx.db.outbox.pending()
            assert [(r.topic, r.key, r.event.event_type) for r in pending] == [
                ("lfr.alerts.events.v1", alert_id, "AlertRaised")
            ]
        finally:
            await consumer.stop()
            await producer.stop()
