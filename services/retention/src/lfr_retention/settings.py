"""Configuration of the retention service (environment, prefix LFR_), validated at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from lfr_platform.settings import ServiceSettings
from pydantic import Field, model_validator

from lfr_retention.domain.policy import RetentionPolicy, load_policy

DEFAULT_POLICY_FILE = Path(__file__).resolve().parents[4] / "deploy" / "retention-policy.yaml"


class RetentionSettings(ServiceSettings):
    service: str = "retention"
    http_port: int = 8107
    grpc_port: int = 9107
    grpc_targets: dict[str, str] = Field(default_factory=dict)
    retention_policy_file: Path | None = Field(
        default=None,
        description="YAML policy; default deploy/retention-policy.yaml, else (development) built-in defaults",
    )
    retention_interval_seconds: float = Field(default=300.0, gt=0, description="scheduled enforcement period")
    # Topic names (a test on a shared broker points these at prefixed topics).
    retention_deployments_topic: str = "lfr.deployments.events.v1"
    retention_watchlists_topic: str = "lfr.watchlists.events.v1"
    retention_alerts_topic: str = "lfr.alerts.events.v1"
    retention_inference_topic: str = "lfr.inference.events.v1"

    @model_validator(mode="after")
    def _policy_file_exists(self) -> Self:
        """A policy file that is not there is refused, never replaced by the built-in defaults in silence:
        in production the force's written policy is what must be enforced."""
        if self.retention_policy_file is not None:
            if not self.retention_policy_file.is_file():
                raise ValueError(
                    f"LFR_RETENTION_POLICY_FILE: no retention policy at {self.retention_policy_file}"
                )
        elif self.environment == "production" and not DEFAULT_POLICY_FILE.is_file():
            raise ValueError(
                f"LFR_RETENTION_POLICY_FILE unset and no policy at {DEFAULT_POLICY_FILE}: production refuses "
                "to enforce built-in defaults; point LFR_RETENTION_POLICY_FILE at the policy YAML"
            )
        return self

    def policy(self) -> RetentionPolicy:
        if self.retention_policy_file is not None:
            return load_policy(self.retention_policy_file)
        return load_policy(DEFAULT_POLICY_FILE if DEFAULT_POLICY_FILE.is_file() else None)

    def target(self, service: str) -> str:
        return self.grpc_targets.get(service) or f"127.0.0.1:{9100 + _PORT_OFFSETS[service]}"


_PORT_OFFSETS = {"deployments": 1}
