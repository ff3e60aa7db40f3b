"""Where the frames data key of a deployment comes from: the deployments service over gRPC
(`lfr.keys.v1.DataKeys/GetDataKey`), cached for at most a minute so a destroyed key stops being used
soon after, or, in tests and single-process setups, a `KeyRing` in the same process."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import grpc
from lfr_platform.crypto import DataClass, KeyRing
from lfr_platform.grpc_security import LazyChannel
from lfr_proto.lfr.keys.v1 import keys_pb2, keys_pb2_grpc

MAX_CACHE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class DataKey:
    key_id: str
    key: bytes = field(repr=False)


class KeyUnavailable(Exception):
    """No usable frames key now (service unreachable, key missing or destroyed): frames are dropped."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class DataKeyProvider(Protocol):
    async def frames_key(self, deployment_id: str) -> DataKey: ...


class _Cache:
    def __init__(self, ttl: float, clock: Callable[[], float]) -> None:
        if not 0 < ttl <= MAX_CACHE_SECONDS:
            raise ValueError("a data key is cached for at most 60 s")
        self._ttl = ttl
        self._clock = clock
        self._keys: dict[str, tuple[float, DataKey]] = {}

    def get(self, deployment_id: str) -> DataKey | None:
        hit = self._keys.get(deployment_id)
        if hit is None or self._clock() - hit[0] >= self._ttl:
            self._keys.pop(deployment_id, None)
            return None
        return hit[1]

    def put(self, deployment_id: str, key: DataKey) -> None:
        self._keys[deployment_id] = (self._clock(), key)

    def forget(self, deployment_id: str) -> None:
        self._keys.pop(deployment_id, None)


class GrpcDataKeys:
    def __init__(
        self,
        target: str,
        *,
        cache_seconds: float = 30.0,
        credentials: grpc.ChannelCredentials | None = None,
        timeout: float = 3.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        # Opened on first use, in the service's own event loop (see LazyChannel).
        self._channel = LazyChannel(
            lambda: (
                grpc.aio.secure_channel(target, credentials)
                if credentials
                else grpc.aio.insecure_channel(target)
            )
        )
        self._stub = keys_pb2_grpc.DataKeysStub(self._channel)
        self._cache = _Cache(cache_seconds, clock)
        self._timeout = timeout

    async def frames_key(self, deployment_id: str) -> DataKey:
        cached = self._cache.get(deployment_id)
        if cached is not None:
            return cached
        request = keys_pb2.GetDataKeyRequest(deployment_id=deployment_id, data_class=DataClass.FRAMES.value)
        try:
            reply = await self._stub.GetDataKey(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as error:
            code = {
                grpc.StatusCode.NOT_FOUND: "data_key_not_found",
                grpc.StatusCode.FAILED_PRECONDITION: "data_key_destroyed",
                grpc.StatusCode.PERMISSION_DENIED: "data_key_denied",
            }.get(error.code(), "data_key_unavailable")
            raise KeyUnavailable(code, f"frames key for {deployment_id}: {error.code().name}") from None
        if len(reply.key) != 32:
            raise KeyUnavailable("data_key_invalid", "the deployments service returned a malformed key")
        key = DataKey(reply.key_id, bytes(reply.key))
        self._cache.put(deployment_id, key)
        return key

    def forget(self, deployment_id: str) -> None:
        self._cache.forget(deployment_id)

    async def close(self) -> None:
        await self._channel.close()


class KeyRingDataKeys:
    """In-process provider over a `KeyRing` (unit tests; a single-process deployment)."""

    def __init__(self, ring: KeyRing) -> None:
        self._ring = ring

    async def frames_key(self, deployment_id: str) -> DataKey:
        try:
            key = await self._ring.data_key(deployment_id, DataClass.FRAMES)
        except Exception as error:
            raise KeyUnavailable("data_key_unavailable", type(error).__name__) from None
        return DataKey(frames_key_id(deployment_id), key)


def frames_key_id(deployment_id: str) -> str:
    return f"{deployment_id}/{DataClass.FRAMES.value}"
