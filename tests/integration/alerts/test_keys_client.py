"""The DataKeys client is built by the composition root before the service's event loop runs (as
`python -m lfr_alerts` does), and must still work inside that loop; key errors map to HTTP meanings."""

from __future__ import annotations

import asyncio

import grpc
import pytest
from lfr_alerts.adapters.keys_grpc import GrpcDataKeys
from lfr_alerts.app.errors import ServiceUnavailable
from lfr_platform.crypto import DataClass, InMemoryWrappedKeyStore, KeyDestroyed, KeyRing
from lfr_platform.errors import NotFound
from lfr_proto.lfr.keys.v1 import keys_pb2_grpc

from tests.integration.alerts._env import KeyRingServicer, free_port


def test_client_built_outside_the_loop_fetches_keys_inside_it() -> None:
    port = free_port()
    keys = GrpcDataKeys(f"127.0.0.1:{port}")  # no event loop runs here, as in bootstrap.build
    ring = KeyRing(bytes(range(32)), InMemoryWrappedKeyStore())

    async def serve_and_ask() -> None:
        server = grpc.aio.server()
        keys_pb2_grpc.add_DataKeysServicer_to_server(KeyRingServicer(ring), server)
        server.add_insecure_port(f"127.0.0.1:{port}")
        await server.start()
        try:
            await ring.ensure_key("dep-1", DataClass.ALERT_MEDIA)
            assert await keys.data_key("dep-1", "alert_media") == await ring.data_key("dep-1", "alert_media")
            with pytest.raises(NotFound):
                await keys.data_key("dep-unknown", "alert_media")
            await ring.destroy("dep-1", DataClass.ALERT_MEDIA)
            with pytest.raises(KeyDestroyed):
                await keys.data_key("dep-1", "alert_media")
        finally:
            await keys.close()
            await server.stop(0)

    asyncio.run(serve_and_ask())


async def test_unreachable_key_service_is_a_503() -> None:
    keys = GrpcDataKeys(f"127.0.0.1:{free_port()}", deadline_seconds=1.0)
    try:
        with pytest.raises(ServiceUnavailable):
            await keys.data_key("dep-1", "alert_media")
    finally:
        await keys.close()
