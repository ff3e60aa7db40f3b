"""Client channels for service-to-service gRPC: TLS when configured, else plaintext on loopback in dev.

    channel = peer_channel(settings.grpc_targets["deployments"], settings)   # in a composition root
    channel = secure_channel("127.0.0.1:9101", settings)                       # inside a running loop

`settings.grpc_tls` (LFR_GRPC_TLS__CA_FILE, and CERT_FILE/KEY_FILE for a client certificate under mutual
TLS) turns TLS on. Without it, a plaintext channel is opened only in development and only to a loopback
address (the embedded stack); anything else is a configuration error raised at start-up, so an internal
call never silently crosses a network in clear text. Under mutual TLS the client certificate is the
caller's identity, which the server checks against `lfr_platform.grpc_policy`. Every channel carries the
OpenTelemetry client interceptors, so a trace continues in the peer.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Sequence
from typing import Any

import grpc

from lfr_platform.settings import ConfigurationError, ServiceSettings
from lfr_platform.telemetry import grpc_client_interceptors

LOOPBACK_NAMES = frozenset({"localhost", "ip6-localhost", "ip6-loopback"})


def target_host(target: str) -> str:
    """The host part of a gRPC target (`host:port`, `[v6]:port`, `dns:///host:port`, `unix:path`)."""
    if target.startswith("unix:"):
        return "unix"
    rest = target.split("///", 1)[-1] if "://" in target else target
    if rest.startswith("["):
        return rest[1 : rest.index("]")]
    return rest.rsplit(":", 1)[0] if rest.count(":") == 1 else rest


def is_loopback(target: str) -> bool:
    host = target_host(target)
    if host == "unix" or host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def channel_credentials(target: str, settings: ServiceSettings) -> grpc.ChannelCredentials | None:
    """The credentials a channel to `target` uses (None: plaintext), or ConfigurationError if refused."""
    tls = settings.grpc_tls
    if tls.enabled:
        return tls.channel_credentials()
    if settings.environment == "development" and is_loopback(target):
        return None
    raise ConfigurationError(
        f"plaintext gRPC to {target!r} refused ({settings.environment}): set LFR_GRPC_TLS__CA_FILE "
        "(and LFR_GRPC_TLS__CERT_FILE/KEY_FILE for mutual TLS); plaintext is allowed only to loopback "
        "addresses in development"
    )


def _open(
    target: str, credentials: grpc.ChannelCredentials | None, options: Sequence[tuple[str, Any]]
) -> grpc.aio.Channel:
    # Every peer call gets a client span whose context travels in the metadata: traces cross gRPC hops.
    interceptors = grpc_client_interceptors()
    if credentials is None:
        return grpc.aio.insecure_channel(target, options=list(options), interceptors=interceptors)
    return grpc.aio.secure_channel(target, credentials, options=list(options), interceptors=interceptors)


def secure_channel(
    target: str, settings: ServiceSettings, *, options: Sequence[tuple[str, Any]] = ()
) -> grpc.aio.Channel:
    """An asyncio gRPC channel to a peer service, TLS when `settings.grpc_tls` is configured."""
    return _open(target, channel_credentials(target, settings), options)


def peer_channel(
    target: str, settings: ServiceSettings, *, options: Sequence[tuple[str, Any]] = ()
) -> LazyChannel:
    """What a composition root gives a peer client: the transport is decided (and certificate files
    read) now, so a misconfiguration stops the service at start-up; the channel opens on first call."""
    credentials = channel_credentials(target, settings)
    return LazyChannel(lambda: _open(target, credentials, options))


class LazyChannel:
    """A grpc.aio channel opened on its first call, inside the event loop making that call.

    A composition root builds its peer clients before the service's event loop exists, and a grpc.aio
    channel belongs to the loop it was created in ("Future attached to a different loop" otherwise).
    Generated stubs only ask a channel for multicallables, so this stands in for one.
    """

    def __init__(self, open_channel: Callable[[], grpc.aio.Channel]) -> None:
        self._open = open_channel
        self._channel: grpc.aio.Channel | None = None

    def _real(self) -> grpc.aio.Channel:
        if self._channel is None:
            self._channel = self._open()
        return self._channel

    def _deferred(self, kind: str, method: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        def invoke(*call_args: Any, **call_kwargs: Any) -> Any:
            multicallable = getattr(self._real(), kind)(method, *args, **kwargs)
            return multicallable(*call_args, **call_kwargs)

        return invoke

    def unary_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._deferred("unary_unary", method, args, kwargs)

    def unary_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._deferred("unary_stream", method, args, kwargs)

    def stream_unary(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._deferred("stream_unary", method, args, kwargs)

    def stream_stream(self, method: str, *args: Any, **kwargs: Any) -> Any:
        return self._deferred("stream_stream", method, args, kwargs)

    async def close(self, grace: float | None = None) -> None:
        if self._channel is not None:
            await self._channel.close(grace)
            self._channel = None
