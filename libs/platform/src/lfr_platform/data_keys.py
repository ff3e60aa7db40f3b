"""The one client of the deployments service's `lfr.keys.v1.DataKeys`: ingest, inference, alerts and
watchlists fetch per-deployment data keys with it, retention shreds them with it.

    keys = GrpcDataKeys.connect(settings.target("deployments"), settings, cache_seconds=30)   # bootstrap
    key = await keys.get(deployment_id, DataClass.FRAMES)                                     # DataKey

Retention destroys keys at the deployments service, and every process holding a copy must stop using it
soon after: a key is cached for at most `MAX_CACHE_SECONDS` (0 turns the cache off), and a refusal is
never cached, so the next call asks again. Refusals are the platform's errors (`DataKeyError`):
`KeyNotFound` (404), `KeyDestroyed` (410), `KeysUnavailable` (503: unreachable, too slow, TLS identity
refused, a method the allow-list does not grant this service (code `keys_refused`), or a malformed
answer); a request the service calls malformed is `InvalidInput`. Key material is never logged and never
appears in a repr.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import grpc
from lfr_proto.lfr.keys.v1 import keys_pb2, keys_pb2_grpc

from lfr_platform.crypto import KEY_BYTES, DataClass, DataKeyError, KeyDestroyed, KeyNotFound
from lfr_platform.errors import InvalidInput
from lfr_platform.grpc_security import LazyChannel, peer_channel
from lfr_platform.settings import ServiceSettings

MAX_CACHE_SECONDS = 60.0
DEFAULT_CACHE_SECONDS = 30.0
DEFAULT_DEADLINE_SECONDS = 5.0


@dataclass(frozen=True, slots=True)
class DataKey:
    key_id: str  # `<deployment>/<data class>`, stamped on what it seals so a reader can tell keys apart
    key: bytes = field(repr=False)


class KeysUnavailable(DataKeyError):
    """The deployments service cannot hand out a key now; retrying later may work (HTTP 503)."""

    code = "keys_unavailable"
    http_status = 503


class DataKeySource(Protocol):
    async def get(self, deployment_id: str, data_class: DataClass | str) -> DataKey:
        """Raises DataKeyError."""
        ...


_WHY = {
    grpc.StatusCode.UNAVAILABLE: "is unreachable",
    grpc.StatusCode.UNAUTHENTICATED: "refused this service's TLS identity (check LFR_GRPC_TLS__*)",
}


class GrpcDataKeys:
    def __init__(
        self,
        channel: grpc.aio.Channel | LazyChannel,
        *,
        target: str = "deployments",
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 <= cache_seconds <= MAX_CACHE_SECONDS:
            raise ValueError(f"a data key may be cached for 0..{MAX_CACHE_SECONDS:g} s, not {cache_seconds}")
        self._channel = channel
        self._stub = keys_pb2_grpc.DataKeysStub(channel)
        self._target = target
        self._ttl = cache_seconds
        self._deadline = deadline_seconds
        self._now = monotonic
        self._cache: dict[tuple[str, DataClass], tuple[float, DataKey]] = {}

    @classmethod
    def connect(
        cls,
        target: str,
        settings: ServiceSettings,
        *,
        cache_seconds: float = DEFAULT_CACHE_SECONDS,
        deadline_seconds: float = DEFAULT_DEADLINE_SECONDS,
    ) -> GrpcDataKeys:
        """For a composition root: TLS/mTLS from `settings.grpc_tls`, the channel opened on first use."""
        return cls(
            peer_channel(target, settings),
            target=target,
            cache_seconds=cache_seconds,
            deadline_seconds=deadline_seconds,
        )

    async def get(self, deployment_id: str, data_class: DataClass | str) -> DataKey:
        slot = (deployment_id, DataClass(data_class))
        cached = self._cache.get(slot)
        if cached is not None:
            if self._now() - cached[0] < self._ttl:
                return cached[1]
            del self._cache[slot]
        request = keys_pb2.GetDataKeyRequest(deployment_id=deployment_id, data_class=slot[1].value)
        try:
            reply = await self._stub.GetDataKey(request, timeout=self._deadline)
        except grpc.aio.AioRpcError as error:
            raise self._refusal(error, slot) from None
        if len(reply.key) != KEY_BYTES or not reply.key_id:
            raise KeysUnavailable(
                f"the deployments service at {self._target} returned a malformed {_what(slot)}",
                code="data_key_invalid",
            )
        key = DataKey(reply.key_id, bytes(reply.key))
        if self._ttl > 0:
            self._cache[slot] = (self._now(), key)
        return key

    async def data_key(self, deployment_id: str, data_class: DataClass | str) -> bytes:
        """The raw key, for callers that do not track key ids."""
        return (await self.get(deployment_id, data_class)).key

    async def destroy(
        self, deployment_id: str, data_class: DataClass | str, *, actor: str, role: str, reason: str
    ) -> bool:
        """Crypto-shred one key at the deployments service; False when it was already gone."""
        slot = (deployment_id, DataClass(data_class))
        self._cache.pop(slot, None)
        request = keys_pb2.DestroyDataKeyRequest(
            deployment_id=deployment_id, data_class=slot[1].value, actor=actor, role=role, reason=reason
        )
        try:
            reply = await self._stub.DestroyDataKey(request, timeout=self._deadline)
        except grpc.aio.AioRpcError as error:
            raise self._refusal(error, slot) from None
        finally:
            self._cache.pop(slot, None)  # a fetch that raced the destruction must not keep the key
        return bool(reply.destroyed)

    def forget(self, deployment_id: str) -> None:
        """Drop the deployment's cached keys (it ended, or a frame names a newer key)."""
        for slot in [s for s in self._cache if s[0] == deployment_id]:
            del self._cache[slot]

    async def close(self) -> None:
        self._cache.clear()
        await self._channel.close()

    def _refusal(self, error: grpc.aio.AioRpcError, slot: tuple[str, DataClass]) -> Exception:
        code, details = error.code(), error.details() or ""
        what = _what(slot)
        if code == grpc.StatusCode.NOT_FOUND:
            return KeyNotFound(f"{what} does not exist ({details})")
        if code == grpc.StatusCode.FAILED_PRECONDITION and details.startswith("destroyed"):
            return KeyDestroyed(f"{what} was destroyed: the data it protected is gone for good")
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            return InvalidInput(f"the deployments service refused the request for {what}: {details}")
        if code == grpc.StatusCode.PERMISSION_DENIED:  # lfr_platform.grpc_policy: retrying will not help
            return KeysUnavailable(
                f"the deployments service at {self._target} refused this service ({details}) [{code.name}]: "
                f"{what} cannot be had with this certificate (check LFR_GRPC_TLS__CERT_FILE)",
                code="keys_refused",
                details={"grpc_status": code.name},
            )
        why = _WHY.get(code) or (
            f"did not answer within {self._deadline:g} s"
            if code == grpc.StatusCode.DEADLINE_EXCEEDED
            else f"could not hand it out ({details})"
        )
        return KeysUnavailable(
            f"the deployments service at {self._target} {why} [{code.name}]: {what} cannot be had now; "
            "try again shortly",
            details={"grpc_status": code.name},
        )


def _what(slot: tuple[str, DataClass]) -> str:
    return f"the {slot[1].value} key of deployment {slot[0]}"
