"""Under mutual TLS the deployments service hands a data key out only for a class
`lfr_platform.grpc_policy.DATA_KEY_CLASSES` grants the caller: every caller below holds a certificate from
the same CA (tests/fixtures/pki.py, named as cert-manager names the services'), and every one may call
GetDataKey, so only the per-class check stands between ingest and watchlist image keys.

The classes each service's code asks for are read from its source (`CODE_USES`), so a policy that would
refuse a service what it fetches fails here rather than in production."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from lfr_platform.crypto import DataClass
from lfr_platform.data_keys import GrpcDataKeys, KeysUnavailable
from lfr_platform.grpc_policy import DATA_KEY_CLASSES
from lfr_platform.grpc_security import secure_channel
from lfr_platform.settings import ServiceSettings, TlsSettings
from lfr_proto.lfr.keys.v1 import keys_pb2, keys_pb2_grpc

from tests.fixtures.pki import Pki, service_dns_names
from tests.integration.deployments._harness import RestWorld, rest_world
from tests.integration.deployments.test_data_keys_client import deployments_grpc
from tests.unit.deployments.conftest import DEPLOYMENT

ROOT = Path(__file__).resolve().parents[2]
# A data key fetched through lfr_platform.data_keys (`keys.get(...)`, `keys.data_key(...)`) with its class.
FETCH = re.compile(r"(?:keys\.get|\.data_key)\(\s*[\w.]+,\s*DataClass\.(\w+)")


def classes_fetched_by(service: str) -> set[DataClass]:
    """The data classes `service`'s code fetches keys of (benchmarks use a local KeyRing, not the service)."""
    src = ROOT / "services" / service / "src"
    return {
        DataClass[name]
        for path in src.rglob("*.py")
        if not path.name.startswith("bench")
        for name in FETCH.findall(path.read_text())
    }


CODE_USES = {
    service: classes_fetched_by(service) for service in ("ingest", "inference", "alerts", "watchlists")
}


@dataclass
class Keys:
    pki: Pki
    target: str
    world: RestWorld

    def client(self, service: str) -> GrpcDataKeys:
        cert, key = self.pki.issue(service, server=False, dns_names=service_dns_names(service))
        tls = TlsSettings(cert_file=cert, key_file=key, ca_file=self.pki.ca_file)
        return GrpcDataKeys.connect(self.target, ServiceSettings(grpc_tls=tls), cache_seconds=0)


@pytest.fixture
async def keys(tmp_path: Path) -> AsyncIterator[Keys]:
    pki = Pki(tmp_path)
    cert, key = pki.issue("deployments", server=True, dns_names=service_dns_names("deployments"))
    tls = TlsSettings(cert_file=cert, key_file=key, ca_file=pki.ca_file)
    async with rest_world(tmp_path / "deployments", grpc_tls=tls) as world, deployments_grpc(world) as target:
        await world.drafted()
        yield Keys(pki, target, world)


def test_the_code_paths_were_found() -> None:
    """The scan reads what the modules named in DATA_KEY_CLASSES fetch; an empty read would prove nothing."""
    assert CODE_USES == {
        "ingest": {DataClass.FRAMES},
        "inference": {DataClass.FRAMES, DataClass.ALERT_MEDIA},
        "alerts": {DataClass.ALERT_MEDIA, DataClass.WATCHLIST_MEDIA},
        "watchlists": {DataClass.WATCHLIST_MEDIA},
    }


def test_the_policy_grants_exactly_what_the_code_fetches() -> None:
    assert {service: set(classes) for service, classes in DATA_KEY_CLASSES.items()} == CODE_USES


async def test_each_service_gets_the_classes_its_code_fetches_and_no_other(keys: Keys) -> None:
    for service, used in CODE_USES.items():
        client = keys.client(service)
        try:
            for data_class in DataClass:
                if data_class in used:
                    fetched = await client.get(DEPLOYMENT, data_class)
                    assert fetched.key == await keys.world.parts.keys.ring.data_key(DEPLOYMENT, data_class)
                    continue
                with pytest.raises(KeysUnavailable) as refused:
                    await client.get(DEPLOYMENT, data_class)
                assert refused.value.code == "keys_refused", (service, data_class)
                assert f"the {service} service may not get {data_class} data keys" in refused.value.message
        finally:
            await client.close()


async def test_ingest_gets_frames_but_not_watchlist_media(keys: Keys) -> None:
    ingest = keys.client("ingest")
    try:
        assert (await ingest.get(DEPLOYMENT, DataClass.FRAMES)).key_id == f"{DEPLOYMENT}/frames"
        with pytest.raises(KeysUnavailable) as refused:
            await ingest.get(DEPLOYMENT, DataClass.WATCHLIST_MEDIA)
        assert refused.value.details == {"grpc_status": grpc.StatusCode.PERMISSION_DENIED.name}
        assert "the ingest service may not get watchlist_media data keys" in refused.value.message
    finally:
        await ingest.close()


async def test_alerts_gets_alert_media(keys: Keys) -> None:
    alerts = keys.client("alerts")
    try:
        media = await alerts.get(DEPLOYMENT, DataClass.ALERT_MEDIA)
        assert media.key == await keys.world.parts.keys.ring.data_key(DEPLOYMENT, "alert_media")
    finally:
        await alerts.close()


async def test_an_unknown_class_is_still_a_bad_request_not_a_refusal(keys: Keys) -> None:
    cert, key = keys.pki.issue("ingest", server=False, dns_names=service_dns_names("ingest"))
    settings = ServiceSettings(grpc_tls=TlsSettings(cert_file=cert, key_file=key, ca_file=keys.pki.ca_file))
    async with secure_channel(keys.target, settings) as channel:
        request = keys_pb2.GetDataKeyRequest(deployment_id=DEPLOYMENT, data_class="templates")
        with pytest.raises(grpc.aio.AioRpcError) as bad:
            await keys_pb2_grpc.DataKeysStub(channel).GetDataKey(request, timeout=10)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
