"""The audit service as a real process (`python -m lfr_audit`, as `lfr up` runs it): a producer service
(real store, relay, EventLog gRPC) publishes over the real broker, some of its events only exist in its
EventLog; the running service records all of them in order, and `lfr audit verify --url` passes."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
from lfr_audit.verify_cli import audit_app
from lfr_platform.auth import EmbeddedIssuer
from lfr_platform.messaging import EmbeddedBroker, KafkaSettings, topic_name
from lfr_platform.messaging.broker import free_port
from typer.testing import CliRunner

from tests.integration.audit._producer import INTERNAL, start_producer, wait_until


async def test_running_service_records_kafka_and_backfilled_events_and_verifies(
    tmp_path: Path, kafka_broker: EmbeddedBroker, topic_prefix: str
) -> None:
    kafka = KafkaSettings(bootstrap_servers=kafka_broker.bootstrap_servers)
    topic = topic_name("alerts", "events", 1, prefix=topic_prefix)
    producer = await start_producer(tmp_path, "alerts", topic)
    await producer.start_relay(kafka, partitions=2)
    http_port, grpc_port = free_port(), free_port()
    data_dir = tmp_path / "audit-data"
    env = {
        **os.environ,
        "LFR_DATA_DIR": str(data_dir),
        "LFR_HTTP_PORT": str(http_port),
        "LFR_GRPC_PORT": str(grpc_port),
        "LFR_KAFKA__BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
        "LFR_AUDIT_TOPICS": json.dumps([topic]),
        "LFR_GRPC_TARGETS": json.dumps({"alerts": producer.target, "audit": f"127.0.0.1:{grpc_port}"}),
        "LFR_AUDIT_BACKFILL_INTERVAL_SECONDS": "2",
    }
    log = (tmp_path / "audit.log").open("wb")
    process = subprocess.Popen(  # noqa: ASYNC220 (a plain Popen: the service outlives no loop here)
        [sys.executable, "-m", "lfr_audit"], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        for i in range(40):
            await producer.append(f"alert-{i % 5}", stream_type=INTERNAL if i % 8 == 2 else "alert")
        issuer = EmbeddedIssuer.load_or_create(
            data_dir / "auth" / "dev-issuer.pem", "lfr-embedded-dev-issuer", "lfr"
        )
        token = issuer.issue_token("oversight-1", "oversight", 600)
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{http_port}", headers={"Authorization": f"Bearer {token}"}
        ) as client:

            async def entries() -> list[dict[str, object]]:
                try:
                    response = await client.get("/api/v1/audit/entries", params={"limit": 1000})
                except httpx.HTTPError:
                    return []
                return response.json()["entries"] if response.status_code == 200 else []

            async def all_recorded() -> bool:
                assert process.poll() is None, (tmp_path / "audit.log").read_text()[-3000:]
                return len(await entries()) >= 40

            await wait_until(all_recorded, within=120, what="the running service to record all 40 events")
            recorded = await entries()
        assert [row["entry"]["source_position"] for row in recorded] == list(range(1, 41))
        assert {row["entry"]["stream_type"] for row in recorded} == {"alert", INTERNAL}
        result = await asyncio.to_thread(
            CliRunner().invoke,
            audit_app,
            ["verify", "--url", f"http://127.0.0.1:{http_port}", "--token", token, "--json"],
        )
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["entries"] == 40
    finally:
        process.terminate()
        await asyncio.to_thread(process.wait, 20)
        log.close()
        await producer.close()
