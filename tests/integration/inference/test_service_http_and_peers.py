"""The status REST endpoint (permission inference.read; counts only), the models readiness check on
onnxruntime, and the DataKeys client the composition root builds, against a real gRPC DataKeys over
KeyRing."""

from __future__ import annotations

from types import SimpleNamespace

import httpx
import pytest
from lfr_inference.app.ports import DataKey
from lfr_inference.bootstrap import build_service, models_ready_check
from lfr_inference.settings import InferenceSettings
from lfr_platform.auth import EmbeddedIssuer
from lfr_platform.crypto import DataKeyError
from lfr_platform.data_keys import GrpcDataKeys, KeysUnavailable
from pydantic import ValidationError

from tests.fixtures.grpc_peers import DataKeysServer


class NoKeys:
    async def get(self, deployment_id: str, data_class: str) -> DataKey:
        raise KeysUnavailable("not in this test")


class NoGallery:
    async def fetch(self, deployment_id: str):  # noqa: ANN201
        raise AssertionError("not in this test")


async def test_status_shows_counts_to_permitted_roles_only(tmp_path):
    settings = InferenceSettings(data_dir=tmp_path)
    issuer = EmbeddedIssuer.load_or_create(
        settings.dev_key_path, settings.auth.issuer, settings.auth.audience
    )
    service = build_service(settings, data_keys=NoKeys(), gallery_source=NoGallery())
    headers = [
        ("capture_ns", b"1"),
        ("deployment_id", b"dep-9"),
        ("camera_id", b"cam-1"),
        ("frame_seq", b"1"),
        ("key_id", b"k"),
    ]
    for _ in range(3):  # dep-9 was never started: counted as dropped
        await service.recognition.accept(SimpleNamespace(headers=headers, value=b"\x01sealed"))
    transport = httpx.ASGITransport(app=service.runtime.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://inference") as client:
        assert (await client.get("/api/v1/inference/status")).status_code == 401
        manager = issuer.issue_token("wlm-1", "watchlist_manager", 600)
        forbidden = await client.get(
            "/api/v1/inference/status", headers={"Authorization": f"Bearer {manager}"}
        )
        assert forbidden.status_code == 403
        token = issuer.issue_token("op-1", "operator", 600)
        reply = await client.get("/api/v1/inference/status", headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200
    body = reply.json()
    assert body["backend"] == "onnxruntime" and body["model_version"]
    (row,) = body["deployments"]
    assert row["deployment_id"] == "dep-9" and row["processing"] is False
    assert row["frames_dropped"] == 3 and row["dropped_reasons"] == {"unknown_deployment": 3}
    assert row["gallery_size"] is None and row["faces_processed"] == 0
    assert await models_ready_check(service.backend).probe() is True
    await service.backend.close()


async def test_the_composition_root_fetches_keys_over_grpc_and_caches_them_briefly(
    tmp_path, data_keys: DataKeysServer
):
    ring, servicer = data_keys.ring, data_keys.servicer
    await ring.ensure_key("dep-1", "frames")
    settings = InferenceSettings(data_dir=tmp_path, grpc_targets={"deployments": data_keys.target})
    service = build_service(settings, gallery_source=NoGallery())
    keys = service.recognition.data_keys
    assert isinstance(keys, GrpcDataKeys)
    try:
        first = await keys.get("dep-1", "frames")
        assert first.key == await ring.data_key("dep-1", "frames") and first.key_id
        assert (await keys.get("dep-1", "frames")) == first and servicer.calls == 1  # cached
        await ring.destroy("dep-1", "frames")
        keys.forget("dep-1")  # what DataKeyDestroyed on the deployments topic does
        with pytest.raises(DataKeyError):
            await keys.get("dep-1", "frames")
        with pytest.raises(DataKeyError):
            await keys.get("dep-unknown", "alert_media")
        assert servicer.calls == 3
    finally:
        for closer in service.closers:
            await closer.close()
        await service.backend.close()
    with pytest.raises(ValidationError, match="data_key_cache_seconds"):  # a key outlives a minute nowhere
        InferenceSettings(data_dir=tmp_path, data_key_cache_seconds=120)
