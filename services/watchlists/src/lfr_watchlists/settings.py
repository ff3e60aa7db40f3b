"""Configuration of the watchlists service (environment, prefix LFR_), validated at start-up."""

from __future__ import annotations

from lfr_platform.settings import ServiceSettings
from pydantic import Field

_DEFAULT_GRPC_PORTS = {"deployments": 9101, "inference": 9103}


class WatchlistsSettings(ServiceSettings):
    service: str = "watchlists"
    http_port: int = 8102
    grpc_port: int = 9102
    # Peers' gRPC addresses (LFR_GRPC_TARGETS JSON): "deployments" (DataKeys), "inference" (Enrol).
    grpc_targets: dict[str, str] = Field(default_factory=dict)
    # A destroyed key must stop working here within this time: at most a minute.
    key_cache_seconds: float = Field(default=30.0, gt=0, le=60)
    enrol_deadline_seconds: float = Field(default=30.0, gt=0)
    # Where deployment events arrive (a test on a shared broker points this at a prefixed topic).
    deployments_topic: str = "lfr.deployments.events.v1"
    # Cosine similarity at which a new image is taken to show someone already on the watchlist. Depends
    # on the embedding model: with dlib-resnet-v1 the registry photos measure 0.95-0.97 for the same man
    # and 0.82-0.85 between two men, so the domain's generic 0.80 would refuse distinct people.
    duplicate_similarity: float = Field(default=0.92, gt=0, le=1.01)
    image_max_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    image_max_pixels: int = Field(default=40_000_000, gt=0)

    def target(self, service: str) -> str:
        return self.grpc_targets.get(service) or f"127.0.0.1:{_DEFAULT_GRPC_PORTS[service]}"
