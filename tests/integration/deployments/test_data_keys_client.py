"""The platform's DataKeys client (`lfr_platform.data_keys`, used by ingest, inference, alerts, watchlists
and retention) against the deployments service's real gRPC server: its composition (SQLite event store,
KeyRing over the data_keys table) served by the runtime's `start_grpc`, in plaintext on loopback and
over mutual TLS from settings, as every peer service reaches it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from lfr_deployments.entrypoints.grpc.data_keys import SERVICE_NAME, data_keys_registrar
from lfr_platform.crypto import DataClass, KeyDestroyed, KeyNotFound
from lfr_platform.data_keys import GrpcDataKeys, KeysUnavailable
from lfr_platform.runtime import start_grpc
from lfr_platform.settings import ServiceSettings, TlsSettings

from tests.fixtures.pki import Pki, service_dns_names
from tests.integration.deployments._harness import RestWorld, rest_world
from tests.unit.deployments.conftest import DEPLOYMENT


@asynccontextmanager
async def deployments_grpc(world: RestWorld) -> AsyncIterator[str]:
    """The deployments service's gRPC server as its bootstrap wires it (TLS from its settings): its target."""
    runtime = world.parts.kit.runtime(
        world.parts.app(), grpc=[data_keys_registrar(world.parts.keys)], grpc_service_names=[SERVICE_NAME]
    )
    server, port = await start_grpc(runtime, "127.0.0.1", 0)
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await server.stop(grace=None)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[RestWorld]:
    async with rest_world(tmp_path) as w:
        yield w


async def test_keys_are_fetched_cached_shredded_and_refused_as_the_platform_says(world: RestWorld) -> None:
    keys: GrpcDataKeys | None = None
    try:
        async with deployments_grpc(world) as target:
            keys = GrpcDataKeys.connect(target, ServiceSettings(), cache_seconds=30)
            with pytest.raises(KeyNotFound) as unknown:  # nobody drafted it yet
                await keys.get(DEPLOYMENT, DataClass.FRAMES)
            assert unknown.value.http_status == 404 and "does not exist" in unknown.value.message
            await world.drafted()
            frames = await keys.get(DEPLOYMENT, DataClass.FRAMES)  # the refusal was not cached
            assert frames.key_id == f"{DEPLOYMENT}/frames"
            assert frames.key == await world.parts.keys.ring.data_key(DEPLOYMENT, "frames")
            media = await keys.get(DEPLOYMENT, "alert_media")
            assert media.key != frames.key

            shred = {"actor": "retention", "role": "system", "reason": "alert media retention ended"}
            assert await keys.destroy(DEPLOYMENT, "alert_media", **shred) is True
            with pytest.raises(KeyDestroyed) as gone:  # the cached copy went with it
                await keys.get(DEPLOYMENT, "alert_media")
            assert gone.value.http_status == 410
            assert await keys.destroy(DEPLOYMENT, "alert_media", **shred) is False
            recorded = [e for e in await world.events() if e.event_type == "DataKeyDestroyed"]
            assert [(e.data["data_class"], e.metadata.actor) for e in recorded] == [
                ("alert_media", "retention")
            ]

        # The server is gone: a key fetched within its TTL is still served, anything else is a clear 503.
        assert await keys.get(DEPLOYMENT, DataClass.FRAMES) == frames
        keys.forget(DEPLOYMENT)
        with pytest.raises(KeysUnavailable) as down:
            await keys.get(DEPLOYMENT, DataClass.FRAMES)
        assert down.value.http_status == 503
        assert target in down.value.message and "unreachable" in down.value.message
    finally:
        if keys is not None:
            await keys.close()


def _tls(cert: tuple[Path, Path] | None, ca: Path) -> dict[str, Any]:
    files = {"cert_file": cert[0], "key_file": cert[1]} if cert else {}
    return {"grpc_tls": TlsSettings(ca_file=ca, **files)}


def _service_cert(pki: Pki, service: str) -> tuple[Path, Path]:
    return pki.issue(service, server=False, dns_names=service_dns_names(service))


async def test_keys_over_mutual_tls_configured_by_settings(tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    server_tls = _tls(pki.issue("deployments", server=True), pki.ca_file)
    async with rest_world(tmp_path / "deployments", **server_tls) as world, deployments_grpc(world) as target:
        await world.drafted()
        trusted = ServiceSettings(**_tls(_service_cert(pki, "ingest"), pki.ca_file))
        keys = GrpcDataKeys.connect(target, trusted)
        try:
            fetched = await keys.get(DEPLOYMENT, DataClass.FRAMES)  # created on this first request
            assert fetched.key == await world.parts.keys.ring.data_key(DEPLOYMENT, "frames")
            # Ingest seals frames; crypto-shredding is retention's alone (lfr_platform.grpc_policy).
            with pytest.raises(KeysUnavailable) as refused:
                await keys.destroy(DEPLOYMENT, DataClass.FRAMES, actor="x", role="system", reason="test")
            assert refused.value.code == "keys_refused"
            assert "the ingest service may not call it" in refused.value.message
            assert "/lfr.keys.v1.DataKeys/DestroyDataKey" in refused.value.message
            assert await world.parts.keys.ring.data_key(DEPLOYMENT, "frames") == fetched.key  # still there
        finally:
            await keys.close()

        shredder = GrpcDataKeys.connect(
            target, ServiceSettings(**_tls(_service_cert(pki, "retention"), pki.ca_file))
        )
        try:
            with pytest.raises(KeysUnavailable, match="the retention service may not call it"):
                await shredder.get(DEPLOYMENT, DataClass.FRAMES)  # retention never opens what it shreds
            shred = {"actor": "retention", "role": "system", "reason": "frames retention ended"}
            assert await shredder.destroy(DEPLOYMENT, DataClass.FRAMES, **shred) is True
        finally:
            await shredder.close()
        with pytest.raises(KeyDestroyed):
            await world.parts.keys.ring.data_key(DEPLOYMENT, "frames")

        rogue_ca = Pki(tmp_path, "rogue-ca")
        refused = {
            "no client certificate": ServiceSettings(**_tls(None, pki.ca_file)),
            "a certificate from another CA": ServiceSettings(
                **_tls(rogue_ca.issue("rogue", server=False), pki.ca_file)
            ),
            "plaintext": ServiceSettings(),
        }
        for settings in refused.values():
            keys = GrpcDataKeys.connect(target, settings)
            try:
                with pytest.raises(KeysUnavailable, match="deployments service at"):
                    await keys.get(DEPLOYMENT, DataClass.FRAMES)
            finally:
                await keys.close()
