"""The shared DataKeys client's cache, expiry and error mapping, over a fake channel that answers as the
deployments service's servicer does (status codes and details). The real server is exercised in
tests/integration/deployments/test_data_keys_client.py; this fake only lets the clock and the failures be
chosen exactly."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from lfr_platform.crypto import DataClass, DataKeyError, KeyDestroyed, KeyNotFound
from lfr_platform.data_keys import MAX_CACHE_SECONDS, DataKey, GrpcDataKeys, KeysUnavailable
from lfr_platform.errors import InvalidInput, NotFound
from lfr_platform.settings import ConfigurationError, ServiceSettings
from lfr_proto.lfr.keys.v1 import keys_pb2


def _status(code: grpc.StatusCode, details: str) -> grpc.aio.AioRpcError:
    return grpc.aio.AioRpcError(code, grpc.aio.Metadata(), grpc.aio.Metadata(), details=details)


class FakeKeyService:
    """Stands in for a grpc.aio channel to the deployments service: keys by (deployment, class)."""

    def __init__(self) -> None:
        self.keys: dict[tuple[str, str], bytes] = {}
        self.destroyed: set[tuple[str, str]] = set()
        self.failure: grpc.aio.AioRpcError | None = None
        self.calls: list[tuple[str, float | None]] = []
        self.closed = False

    def unary_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        name = method.rsplit("/", 1)[-1]

        async def call(request: Any, timeout: float | None = None, **_: Any) -> Any:  # noqa: ASYNC109 (gRPC)
            self.calls.append((name, timeout))
            if self.failure is not None:
                raise self.failure
            slot = (request.deployment_id, request.data_class)
            if name == "DestroyDataKey":
                fresh = slot in self.keys
                self.keys.pop(slot, None)
                self.destroyed.add(slot)
                return keys_pb2.DestroyDataKeyResponse(destroyed=fresh, key_id="/".join(slot))
            if slot in self.destroyed:
                raise _status(grpc.StatusCode.FAILED_PRECONDITION, f"destroyed: the key of {slot} was ...")
            if slot not in self.keys:
                raise _status(grpc.StatusCode.NOT_FOUND, f"deployment {slot[0]!r} does not exist")
            return keys_pb2.DataKey(key_id="/".join(slot), key=self.keys[slot])

        return call

    async def close(self, grace: float | None = None) -> None:
        self.closed = True

    @property
    def fetches(self) -> int:
        return sum(1 for name, _ in self.calls if name == "GetDataKey")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def client(service: FakeKeyService, clock: Clock, cache_seconds: float = 30.0) -> GrpcDataKeys:
    return GrpcDataKeys(
        service,  # type: ignore[arg-type]
        target="deployments.test:9101",
        cache_seconds=cache_seconds,
        deadline_seconds=2.5,
        monotonic=clock,
    )


@pytest.fixture
def service() -> FakeKeyService:
    fake = FakeKeyService()
    fake.keys[("dep-1", "frames")] = bytes(range(32))
    fake.keys[("dep-1", "alert_media")] = bytes(range(1, 33))
    fake.keys[("dep-2", "frames")] = bytes(range(2, 34))
    return fake


async def test_a_key_is_reused_until_its_ttl_then_fetched_again(service: FakeKeyService) -> None:
    clock = Clock()
    keys = client(service, clock)
    first = await keys.get("dep-1", DataClass.FRAMES)
    assert first == DataKey("dep-1/frames", bytes(range(32)))
    clock.now += 29.9
    assert await keys.get("dep-1", "frames") == first and service.fetches == 1
    clock.now += 0.1
    assert await keys.get("dep-1", "frames") == first and service.fetches == 2
    assert await keys.data_key("dep-1", "alert_media") == bytes(range(1, 33))  # classes cached apart
    assert service.calls[-1] == ("GetDataKey", 2.5)  # every call carries the deadline
    assert "key=" not in repr(first) and str(bytes(range(32))) not in repr(first)


async def test_the_cache_is_bounded_by_a_minute_and_can_be_off(service: FakeKeyService) -> None:
    for bad in (MAX_CACHE_SECONDS + 1, -1.0):
        with pytest.raises(ValueError, match="0..60 s"):
            client(service, Clock(), cache_seconds=bad)
    uncached = client(service, Clock(), cache_seconds=0)
    await uncached.get("dep-1", "frames")
    await uncached.get("dep-1", "frames")
    assert service.fetches == 2


async def test_a_shredded_key_is_the_domain_error_and_stops_at_expiry(service: FakeKeyService) -> None:
    clock = Clock()
    keys = client(service, clock)
    await keys.get("dep-1", "frames")
    service.keys.pop(("dep-1", "frames"))
    service.destroyed.add(("dep-1", "frames"))  # retention shredded it through another process
    clock.now += 30.0
    with pytest.raises(KeyDestroyed) as gone:
        await keys.get("dep-1", "frames")
    assert gone.value.http_status == 410 and "dep-1" in gone.value.message
    with pytest.raises(KeyDestroyed):  # not cached: asked again, refused again
        await keys.get("dep-1", "frames")
    assert service.fetches == 3


async def test_destroying_through_the_client_evicts_at_once(service: FakeKeyService) -> None:
    keys = client(service, Clock())
    await keys.get("dep-1", "alert_media")
    destroyed = await keys.destroy("dep-1", "alert_media", actor="retention", role="system", reason="31 days")
    assert destroyed is True
    with pytest.raises(KeyDestroyed):
        await keys.get("dep-1", "alert_media")  # the cached copy went with it
    again = await keys.destroy("dep-1", DataClass.ALERT_MEDIA, actor="retention", role="system", reason="x")
    assert again is False


async def test_an_unknown_deployment_is_not_found_and_not_cached(service: FakeKeyService) -> None:
    keys = client(service, Clock())
    with pytest.raises(KeyNotFound) as unknown:
        await keys.get("dep-9", "frames")
    assert isinstance(unknown.value, NotFound) and unknown.value.http_status == 404
    assert unknown.value.code == "key_not_found" and "does not exist" in unknown.value.message
    service.keys[("dep-9", "frames")] = bytes(32)  # the deployment is drafted now
    assert (await keys.get("dep-9", "frames")).key == bytes(32)


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (grpc.StatusCode.UNAVAILABLE, "is unreachable"),
        (grpc.StatusCode.DEADLINE_EXCEEDED, "did not answer within 2.5 s"),
        (grpc.StatusCode.UNAUTHENTICATED, "LFR_GRPC_TLS__"),
        (grpc.StatusCode.FAILED_PRECONDITION, "could not hand it out (decryption_failed: wrong master key)"),
    ],
)
async def test_an_unreachable_or_failing_service_is_a_503_naming_it(
    service: FakeKeyService, code: grpc.StatusCode, says: str
) -> None:
    clock = Clock()
    keys = client(service, clock)
    await keys.get("dep-1", "frames")
    clock.now += 31.0
    service.failure = _status(code, "decryption_failed: wrong master key")
    with pytest.raises(KeysUnavailable) as down:
        await keys.get("dep-1", "frames")  # an expired key is not served because the service is down
    error = down.value
    assert isinstance(error, DataKeyError) and error.http_status == 503 and error.code == "keys_unavailable"
    assert "deployments.test:9101" in error.message and says in error.message
    assert error.details == {"grpc_status": code.name}
    service.failure = None
    assert (await keys.get("dep-1", "frames")).key == bytes(range(32))  # recovers with the service


async def test_malformed_answers_and_requests(service: FakeKeyService) -> None:
    keys = client(service, Clock())
    service.keys[("dep-1", "frames")] = b"short"
    with pytest.raises(KeysUnavailable) as malformed:
        await keys.get("dep-1", "frames")
    assert malformed.value.code == "data_key_invalid"
    with pytest.raises(ValueError):
        await keys.get("dep-1", "templates")  # not a data class: refused before any call
    service.failure = _status(grpc.StatusCode.INVALID_ARGUMENT, "DestroyDataKey names the actor")
    with pytest.raises(InvalidInput, match="names the actor"):
        await keys.destroy("dep-1", "frames", actor="", role="", reason="")


async def test_forget_and_close(service: FakeKeyService) -> None:
    keys = client(service, Clock())
    for deployment in ("dep-1", "dep-2"):
        await keys.get(deployment, "frames")
    keys.forget("dep-1")
    await keys.get("dep-1", "frames")
    await keys.get("dep-2", "frames")
    assert service.fetches == 3  # only dep-1 was asked again
    await keys.close()
    assert service.closed


def test_connect_refuses_plaintext_off_loopback_at_start_up() -> None:
    with pytest.raises(ConfigurationError, match="LFR_GRPC_TLS__CA_FILE"):
        GrpcDataKeys.connect("deployments:9101", ServiceSettings())
    production = ServiceSettings(
        environment="production", auth={"mode": "oidc", "jwks_url": "https://idp.example/jwks"}
    )
    with pytest.raises(ConfigurationError):
        GrpcDataKeys.connect("127.0.0.1:9101", production)
    GrpcDataKeys.connect("127.0.0.1:9101", ServiceSettings())  # development, loopback: opens lazily
