"""The DataKeys client the alerts composition root builds before the service's event loop runs (as
`python -m lfr_alerts` does) must work inside that loop, and, uncached, must stop opening media the moment
a key is shredded; key errors keep their HTTP meanings."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lfr_alerts.bootstrap import build_components
from lfr_alerts.settings import AlertsSettings
from lfr_platform.crypto import DataClass, KeyDestroyed, KeyNotFound
from lfr_platform.data_keys import GrpcDataKeys, KeysUnavailable

from tests.fixtures.grpc_peers import in_memory_ring, serve_data_keys
from tests.fixtures.services import free_ports


def test_client_built_outside_the_loop_fetches_keys_inside_it(tmp_path: Path) -> None:
    [port] = free_ports(1)
    settings = AlertsSettings(data_dir=tmp_path, grpc_targets={"deployments": f"127.0.0.1:{port}"})
    keys = build_components(settings).keys  # no event loop runs here, as in bootstrap.build
    assert isinstance(keys, GrpcDataKeys)
    ring = in_memory_ring()

    async def serve_and_ask() -> None:
        server = await serve_data_keys(ring, port=port)
        try:
            await ring.ensure_key("dep-1", DataClass.ALERT_MEDIA)
            expected = await ring.data_key("dep-1", "alert_media")
            assert await keys.data_key("dep-1", "alert_media") == expected
            assert await keys.data_key("dep-1", "alert_media") == expected
            assert server.servicer.calls == 2  # alerts does not cache keys
            with pytest.raises(KeyNotFound) as unknown:
                await keys.data_key("dep-unknown", "alert_media")
            assert unknown.value.http_status == 404
            await ring.destroy("dep-1", DataClass.ALERT_MEDIA)
            with pytest.raises(KeyDestroyed) as gone:  # at once, not after a cache expires
                await keys.data_key("dep-1", "alert_media")
            assert gone.value.http_status == 410
        finally:
            await keys.close()
            await server.stop()

    asyncio.run(serve_and_ask())


async def test_unreachable_key_service_is_a_503(tmp_path: Path) -> None:
    target = f"127.0.0.1:{free_ports(1)[0]}"
    settings = AlertsSettings(data_dir=tmp_path, grpc_targets={"deployments": target})
    keys = build_components(settings).keys
    assert isinstance(keys, GrpcDataKeys)
    try:
        with pytest.raises(KeysUnavailable) as down:
            await keys.data_key("dep-1", "alert_media")
        assert down.value.http_status == 503 and target in down.value.message
    finally:
        await keys.close()
