"""`lfr.keys.v1.DataKeys` over a real grpc.aio server on the service's KeyRing (SqlWrappedKeyStore in
the deployments database), and the window-expiry task ending running deployments on the injected clock."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from lfr_deployments.entrypoints.grpc.data_keys import data_keys_registrar
from lfr_platform.crypto import open_, seal
from lfr_proto.lfr.keys.v1 import keys_pb2, keys_pb2_grpc

from tests.fixtures.grpc_peers import serve_grpc
from tests.integration.deployments._harness import RestWorld, rest_world
from tests.unit.deployments.conftest import DEPLOYMENT, WINDOW_END


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[RestWorld]:
    async with rest_world(tmp_path) as w:
        yield w


@pytest.fixture
async def stub(world: RestWorld) -> AsyncIterator[keys_pb2_grpc.DataKeysStub]:
    server = await serve_grpc(data_keys_registrar(world.parts.keys))
    try:
        async with grpc.aio.insecure_channel(server.target) as channel:
            yield keys_pb2_grpc.DataKeysStub(channel)
    finally:
        await server.stop()


def get(deployment_id: str, data_class: str = "frames") -> keys_pb2.GetDataKeyRequest:
    return keys_pb2.GetDataKeyRequest(deployment_id=deployment_id, data_class=data_class)


async def test_keys_are_created_lazily_per_class_and_stable(world: RestWorld, stub) -> None:  # type: ignore[no-untyped-def]
    await world.drafted()
    frames = await stub.GetDataKey(get(DEPLOYMENT))
    assert frames.key_id == f"{DEPLOYMENT}/frames" and len(frames.key) == 32
    again = await stub.GetDataKey(get(DEPLOYMENT))
    assert again.key == frames.key  # the same key every time: what ingest seals, inference opens
    media = await stub.GetDataKey(get(DEPLOYMENT, "alert_media"))
    assert media.key != frames.key and media.key_id == f"{DEPLOYMENT}/alert_media"
    stored = await world.parts.keys.ring.data_key(DEPLOYMENT, "frames")
    assert stored == frames.key
    assert open_(frames.key, seal(frames.key, b"frame", b"aad"), b"aad") == b"frame"


async def test_unknown_deployment_and_data_class_are_refused(world: RestWorld, stub) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.aio.AioRpcError) as unknown:
        await stub.GetDataKey(get("dep-nobody-authorised"))
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    assert "does not exist" in (unknown.value.details() or "")
    await world.drafted()
    with pytest.raises(grpc.aio.AioRpcError) as bad_class:
        await stub.GetDataKey(get(DEPLOYMENT, "templates"))
    assert bad_class.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    # No key was minted for the unknown deployment.
    assert await world.parts.keys.ring._store.get("dep-nobody-authorised", "frames") is None  # noqa: SLF001


async def test_destroy_shreds_the_key_and_records_the_event_once(world: RestWorld, stub) -> None:  # type: ignore[no-untyped-def]
    await world.ended()
    key = (await stub.GetDataKey(get(DEPLOYMENT, "alert_media"))).key
    sealed = seal(key, b"crop", b"alert_media/x")
    request = keys_pb2.DestroyDataKeyRequest(
        deployment_id=DEPLOYMENT, data_class="alert_media", actor="retention", role="system",
        reason="alert media retention (31 days) ended",
    )  # fmt: skip
    reply = await stub.DestroyDataKey(request)
    assert reply.destroyed is True and reply.key_id == f"{DEPLOYMENT}/alert_media"
    with pytest.raises(grpc.aio.AioRpcError) as gone:
        await stub.GetDataKey(get(DEPLOYMENT, "alert_media"))
    assert gone.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "destroyed" in (gone.value.details() or "")
    assert sealed  # ciphertext remains somewhere; without the key it is noise

    again = await stub.DestroyDataKey(request)  # a retry: nothing more to destroy, nothing re-recorded
    assert again.destroyed is False
    destroyed = [e for e in await world.events() if e.event_type == "DataKeyDestroyed"]
    assert len(destroyed) == 1
    event = destroyed[0]
    assert dict(event.data) == {"data_class": "alert_media", "key_id": f"{DEPLOYMENT}/alert_media",
                                "reason": "alert media retention (31 days) ended"}  # fmt: skip
    assert (event.metadata.actor, event.metadata.role) == ("retention", "system")
    # The frames key is untouched.
    assert len((await stub.GetDataKey(get(DEPLOYMENT, "frames"))).key) == 32

    nameless = keys_pb2.DestroyDataKeyRequest(deployment_id=DEPLOYMENT, data_class="frames")
    with pytest.raises(grpc.aio.AioRpcError) as anonymous:
        await stub.DestroyDataKey(nameless)
    assert anonymous.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_window_expiry_ends_running_deployments_as_the_system(world: RestWorld) -> None:
    await world.halted()  # halted deployments end at the window's end too
    expiry = world.parts.expiry
    world.clock.set(WINDOW_END - timedelta(seconds=1))
    assert await expiry.expire_due() == []
    world.clock.set(WINDOW_END)
    assert await expiry.expire_due() == [DEPLOYMENT]
    ended = (await world.events())[-1]
    assert ended.event_type == "DeploymentEnded" and ended.data["end_reason"] == "window_expired"
    assert (ended.metadata.actor, ended.metadata.role) == ("system", "system")
    assert await expiry.expire_due() == []  # ended once


async def test_the_background_task_expires_without_being_asked(world: RestWorld) -> None:
    await world.live()
    world.clock.set(WINDOW_END + timedelta(minutes=1))
    task = asyncio.create_task(world.parts.expiry.run())
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while (await world.events())[-1].event_type != "DeploymentEnded":
            assert asyncio.get_running_loop().time() < deadline, "the expiry task never ended the deployment"
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
