"""The retention service as deployed: REST with real JWTs and the permission matrix, and its tracked
consumers on the real (embedded tansu) broker reacting to DeploymentEnded at once."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from lfr_audit.adapters.ledger_sql import LedgerQuery
from lfr_platform.auth import EmbeddedIssuer
from lfr_platform.crypto import DataClass, KeyDestroyed
from lfr_platform.http import create_app
from lfr_platform.messaging.settings import KafkaSettings
from lfr_retention.entrypoints.http.routes import RetentionHttp, retention_router
from lfr_retention.settings import RetentionSettings

from tests.fixtures.events import event_message, publish
from tests.integration.retention._env import RetentionEnv, retention_env
from tests.unit.deployments.conftest import DEPLOYMENT


@pytest.fixture
async def env(tmp_path: Path, face_images_dir: Path) -> AsyncIterator[RetentionEnv]:
    jpegs = [sorted(face_images_dir.glob("*.jpg"))[0].read_bytes()]  # noqa: ASYNC240 (setup)
    async with retention_env(tmp_path, jpegs) as environment:
        yield environment


@contextlib.asynccontextmanager
async def api(env: RetentionEnv) -> AsyncIterator[tuple[httpx.AsyncClient, EmbeddedIssuer]]:
    settings = RetentionSettings(data_dir=env.data_dir)
    parts = env.retention
    http = RetentionHttp(parts.policy, parts.facts, parts.holds, parts.enforcer)
    app = create_app("retention", [retention_router(http)], parts.kit.readiness_checks, settings)
    issuer = EmbeddedIssuer.load_or_create(
        settings.dev_key_path, settings.auth.issuer, settings.auth.audience
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://retention") as client:
        yield client, issuer


def auth(issuer: EmbeddedIssuer, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issuer.issue_token(f'{role}-1', role, 600)}"}


async def test_holds_receipts_and_run_now_over_rest(env: RetentionEnv) -> None:
    await env.run_deployment()
    alert_id, crop = await env.match("trk-1")
    await env.end_deployment()
    await env.sync_retention()
    expires = (env.clock.now() + timedelta(days=60)).isoformat()
    body = {"alert_id": alert_id, "reason": "evidence in a trial", "proceedings_reference": "CPS-7",
            "expires_at": expires}  # fmt: skip
    async with api(env) as (client, issuer):
        policy = await client.get("/api/v1/retention/policies", headers=auth(issuer, "oversight"))
        assert policy.status_code == 200 and policy.json()["alert_media"]["retention_days"] == 31
        assert (await client.get("/api/v1/retention/policies")).status_code == 401

        for role in ("operator", "oversight", "admin"):  # only AO and Silver may place a hold
            denied = await client.post("/api/v1/retention/holds", json=body, headers=auth(issuer, role))
            assert denied.status_code == 403, role
        missing = await client.post("/api/v1/retention/holds", json={**body, "reason": ""},
                                    headers=auth(issuer, "silver_commander"))  # fmt: skip
        assert missing.status_code in (400, 422)
        unknown = await client.post("/api/v1/retention/holds", json={**body, "alert_id": "nope"},
                                    headers=auth(issuer, "silver_commander"))  # fmt: skip
        assert unknown.status_code == 404
        placed = await client.post(
            "/api/v1/retention/holds", json=body, headers=auth(issuer, "silver_commander")
        )
        assert placed.status_code == 201, placed.text
        hold = placed.json()
        assert hold["alert_id"] == alert_id and hold["released"] is False

        env.clock.advance(timedelta(days=45))
        run = await client.post("/api/v1/retention/run", headers=auth(issuer, "admin"))
        assert run.status_code == 200
        assert f"crop:{crop}" not in {r["receipt_id"] for r in run.json()["issued"]}
        assert await env.blob_readable(crop)

        path = f"/api/v1/retention/holds/{hold['hold_id']}/release"
        silver = await client.post(path, json={"reason": "done"}, headers=auth(issuer, "silver_commander"))
        assert silver.status_code == 403  # release is the authorising officer's
        released = await client.post(path, json={"reason": "trial concluded"},
                                     headers=auth(issuer, "authorising_officer"))  # fmt: skip
        assert released.status_code == 200 and released.json()["released"] is True
        run = await client.post("/api/v1/retention/run", headers=auth(issuer, "admin"))
        assert f"crop:{crop}" in {r["receipt_id"] for r in run.json()["issued"]}
        assert not await env.blob_readable(crop)

        listed = await client.get("/api/v1/retention/receipts", headers=auth(issuer, "oversight"))
        kinds = [(r["data_class"], r["action"]) for r in listed.json()["receipts"]]
        assert ("alert_media", "delete_alert_crop") in kinds and ("frames", "destroy_key") in kinds
        holds = await client.get("/api/v1/retention/holds", headers=auth(issuer, "oversight"))
        assert [h["released"] for h in holds.json()["holds"]] == [True]
        forbidden = await client.post("/api/v1/retention/run", headers=auth(issuer, "oversight"))
        assert forbidden.status_code == 403


async def test_a_run_asked_for_over_rest_is_recorded_with_who_asked(env: RetentionEnv) -> None:
    await env.run_deployment()
    await env.match("trk-1")
    await env.end_deployment()
    await env.sync_retention()
    async with api(env) as (client, issuer):
        run = await client.post("/api/v1/retention/run", headers=auth(issuer, "admin"))
    assert run.status_code == 200 and run.json()["issued"], run.text

    events = await env.retention.kit.db.reader().read_all(0, limit=1000)
    requested = [e for e in events if e.event_type == "RetentionRunRequested"]
    assert [(e.metadata.actor, e.metadata.role) for e in requested] == [("admin-1", "admin")]
    assert requested[0].metadata.correlation_id
    receipts = [e for e in events if e.event_type == "DeletionReceiptIssued"]
    assert len(receipts) == len(run.json()["issued"])  # the request precedes them, and they point back to it
    assert {e.metadata.correlation_id for e in receipts} == {requested[0].metadata.correlation_id}
    assert requested[0].position < min(e.position for e in receipts)

    await env.sync_ledger()
    asked = LedgerQuery(actor="admin-1", role="admin", event_type="RetentionRunRequested")
    assert len((await env.ledger.query(asked)).rows) == 1


@pytest.mark.kafka
async def test_deployment_ended_on_the_broker_shreds_the_frames_key_at_once(
    tmp_path: Path, kafka_settings: KafkaSettings
) -> None:
    from lfr_retention.bootstrap import build_components

    async with retention_env(tmp_path, [b"\xff\xd8\xff"]) as env:
        await env.ring.ensure_key(DEPLOYMENT, DataClass.FRAMES)
        prefix = f"t{uuid.uuid4().hex[:8]}."
        settings = RetentionSettings(
            data_dir=tmp_path / "svc", kafka=kafka_settings, retention_interval_seconds=3600,
            retention_deployments_topic=f"{prefix}lfr.deployments.events.v1",
            retention_watchlists_topic=f"{prefix}lfr.watchlists.events.v1",
            retention_alerts_topic=f"{prefix}lfr.alerts.events.v1",
            retention_inference_topic=f"{prefix}lfr.inference.events.v1",
            grpc_targets={"deployments": env.keys_target},
        )  # fmt: skip
        parts = build_components(settings)
        await parts.start()
        consumer = next(c for c in parts.kit.consumers if c.name == "retention-deployments")
        producer = AIOKafkaProducer(**kafka_settings.producer_kwargs())
        await producer.start()
        scheduler = asyncio.create_task(parts.scheduler.run())  # first run happens now; then sleeps 1 h
        try:
            ended = event_message(
                "deployment", DEPLOYMENT, "DeploymentEnded", {"end_reason": "ended_by_silver"},
                actor="ch-insp-silver", role="silver_commander", version=9,
            )  # fmt: skip
            await publish(producer, settings.retention_deployments_topic, ended)
            await consumer.start()
            deadline = asyncio.get_running_loop().time() + 60
            while len(await parts.facts.receipts()) < 2:  # frames and alert_media keys
                assert asyncio.get_running_loop().time() < deadline, "DeploymentEnded did not trigger a run"
                await asyncio.sleep(0.1)
            receipts = {r["receipt_id"]: r for r in await parts.facts.receipts()}
            # No alert ever came, so the alert_media key goes at the end too.
            assert set(receipts) == {f"key:{DEPLOYMENT}:frames", f"key:{DEPLOYMENT}:alert_media"}
            assert receipts[f"key:{DEPLOYMENT}:frames"]["key_destroyed"] is True
            with pytest.raises(KeyDestroyed):
                await env.ring.data_key(DEPLOYMENT, DataClass.FRAMES)
            pending = await parts.kit.db.outbox.pending()
            assert [(r.topic, r.event.event_type) for r in pending] == [
                ("lfr.retention.events.v1", "DeletionReceiptIssued")
            ] * 2
        finally:
            scheduler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await scheduler
            await consumer.stop()
            await producer.stop()
            await parts.keys.close()  # type: ignore[attr-defined]
            await parts.kit.db.dispose()
