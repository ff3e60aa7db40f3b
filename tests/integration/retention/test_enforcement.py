"""Enforcement under trouble: the key service is down (the action stays due, no receipt claims a deletion
that did not happen), and two runs at once (each action gets exactly one receipt)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from lfr_platform.crypto import DataClass, KeyDestroyed
from lfr_retention.adapters.keys_grpc import GrpcKeyShredder
from lfr_retention.app.enforcement import Enforcer

from tests.integration.retention._env import RetentionEnv, retention_env
from tests.unit.deployments.conftest import DEPLOYMENT


@pytest.fixture
async def env(tmp_path: Path, face_images_dir: Path) -> AsyncIterator[RetentionEnv]:
    jpegs = [sorted(face_images_dir.glob("*.jpg"))[0].read_bytes()]  # noqa: ASYNC240 (setup)
    async with retention_env(tmp_path, jpegs) as environment:
        yield environment


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def enforcer_with(env: RetentionEnv, keys: GrpcKeyShredder) -> Enforcer:
    parts = env.retention
    return Enforcer(parts.kit.db, parts.facts, env.blobs, keys, parts.policy, env.clock)


async def test_a_key_service_outage_leaves_the_shredding_due_without_a_receipt(env: RetentionEnv) -> None:
    await env.run_deployment()
    await env.end_deployment()
    await env.sync_retention()
    down = GrpcKeyShredder.connect(f"127.0.0.1:{closed_port()}", env.retention.kit.settings)
    try:
        report = await enforcer_with(env, down).run()
    finally:
        await down.close()
    assert sorted(f["receipt_id"] for f in report.failed) == [
        f"key:{DEPLOYMENT}:alert_media",
        f"key:{DEPLOYMENT}:frames",
    ]
    assert report.issued == [] and await env.retention.facts.receipts() == []
    assert await env.ring.data_key(DEPLOYMENT, DataClass.FRAMES)  # still live

    report = await env.retention.enforcer.run()  # the key service is back
    assert len(report.issued) == 2 and report.failed == []
    with pytest.raises(KeyDestroyed):
        await env.ring.data_key(DEPLOYMENT, DataClass.FRAMES)


async def test_concurrent_runs_issue_each_receipt_once(env: RetentionEnv) -> None:
    await env.run_deployment()
    crops = [(await env.match(f"trk-{i}"))[1] for i in range(5)]
    await env.end_deployment()
    await env.sync_retention()
    env.clock.advance(timedelta(days=40))
    second = GrpcKeyShredder.connect(env.keys_target, env.retention.kit.settings)
    try:
        one, two = await asyncio.gather(env.retention.enforcer.run(), enforcer_with(env, second).run())
    finally:
        await second.close()
    issued = [r["receipt_id"] for r in one.issued + two.issued]
    expected = (
        {f"crop:{k}" for k in crops}
        | {f"key:{DEPLOYMENT}:{c}" for c in ("frames", "alert_media", "watchlist_media")}
        | {f"watchlist-media:{DEPLOYMENT}"}
    )
    assert sorted(issued) == sorted(expected)  # each once, across both runs
    stored = await env.retention.facts.receipts()
    assert sorted(r["receipt_id"] for r in stored) == sorted(expected)
    events = await env.retention.kit.db.reader().read_all(0)
    assert len([e for e in events if e.event_type == "DeletionReceiptIssued"]) == len(expected)
