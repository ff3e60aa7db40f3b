"""The embedded broker: answers Kafka metadata when start() returns, restarts on the same port (losing
its memory-only data), and stop() leaves no process behind."""

from __future__ import annotations

import os

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from lfr_platform.messaging import EmbeddedBroker, tansu_binary
from lfr_platform.messaging.broker import broker_answers


async def test_start_restart_on_same_port_and_stop() -> None:
    assert os.access(tansu_binary(), os.X_OK)
    broker = EmbeddedBroker()
    await broker.start()
    try:
        port, first_pid = broker.port, broker.pid
        assert await broker_answers(broker.bootstrap_servers)
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        await admin.start()
        await admin.create_topics([NewTopic("lfr.test.kept.v1", 1, 1)])
        assert "lfr.test.kept.v1" in await admin.list_topics()
        await admin.close()

        await broker.restart()
        assert broker.port == port and broker.pid != first_pid
        assert await broker_answers(broker.bootstrap_servers)
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap_servers)
        await admin.start()
        assert "lfr.test.kept.v1" not in await admin.list_topics()  # memory storage: gone
        await admin.close()
    finally:
        pid = broker.pid
        await broker.stop()
    assert pid is not None and not broker.running
    assert not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
