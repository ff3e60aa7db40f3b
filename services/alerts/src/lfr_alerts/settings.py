"""Configuration of the alerts service (environment, prefix LFR_), validated at start-up."""

from __future__ import annotations

from lfr_platform.settings import ServiceSettings
from pydantic import Field


class AlertsSettings(ServiceSettings):
    service: str = "alerts"
    http_port: int = 8105
    grpc_port: int = 9105
    grpc_targets: dict[str, str] = Field(default_factory=dict)
    # Where FaceMatched arrives (a test on a shared broker points this at a prefixed topic).
    alerts_match_topic: str = "lfr.inference.events.v1"
    # Where watchlist entries' image blob ids arrive (the operator's reference image).
    alerts_watchlist_topic: str = "lfr.watchlists.events.v1"
    # An alert no one starts reviewing within this time becomes `not_reviewed`.
    alerts_review_timeout_seconds: float = Field(default=300.0, gt=0)
    alerts_scan_interval_seconds: float = Field(default=5.0, gt=0)
    alerts_sse_heartbeat_seconds: float = Field(default=15.0, gt=0)
    # Live streams also poll the event store this often, so replicas that did not consume a match still
    # push it (the local commit wakes them at once).
    alerts_sse_poll_seconds: float = Field(default=1.0, gt=0)

    def target(self, service: str) -> str:
        return self.grpc_targets.get(service) or f"127.0.0.1:{9100 + _PORT_OFFSETS[service]}"


_PORT_OFFSETS = {"deployments": 1, "watchlists": 2}
