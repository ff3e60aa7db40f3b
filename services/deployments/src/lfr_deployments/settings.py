"""Configuration of the deployments service (environment, prefix LFR_), validated at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Self

from lfr_platform.settings import ServiceSettings
from pydantic import Field, model_validator

from lfr_deployments.domain.form1 import DEFAULT_THRESHOLD
from lfr_deployments.domain.policy import GovernancePolicy

DEFAULT_CALIBRATION_FILE = (
    Path(__file__).resolve().parents[4] / "deploy" / "triton" / "calibration" / "dlib-resnet-v1-onnx1.json"
)


class DeploymentsSettings(ServiceSettings):
    requires_master_key: ClassVar[bool] = True
    service: str = "deployments"
    http_port: int = 8101
    grpc_port: int = 9101

    calibration_file: Path = Field(
        default=DEFAULT_CALIBRATION_FILE,
        description="the recognition model's calibration table (JSON): expected false alerts per 1,000 faces",
    )
    threshold_hard_floor: float = Field(
        default=0.59, gt=0.0, lt=1.0, description="no Form 1 threshold may be set below this"
    )
    max_false_alerts_per_1000: float = Field(
        default=1.0, gt=0.0, description="the standing direction: authorisation refused above this rate"
    )
    min_justification_chars: int = Field(default=20, ge=1)
    expiry_interval_seconds: float = Field(
        default=5.0, gt=0, description="how often running deployments are checked for an ended window"
    )
    start_freeze_wait_seconds: float = Field(
        default=5.0, ge=0, description="how long a start waits for the watchlist freeze to arrive"
    )
    # Topic names (a test on a shared broker points these at prefixed topics).
    deployments_topic: str = "lfr.deployments.events.v1"
    watchlists_topic: str = "lfr.watchlists.events.v1"
    watchlist_consumer_name: str = "deployments-watchlist-summary"  # group id and tracking name

    @model_validator(mode="after")
    def _calibration_exists(self) -> Self:
        if not self.calibration_file.is_file():
            raise ValueError(f"LFR_CALIBRATION_FILE: no calibration table at {self.calibration_file}")
        if self.threshold_hard_floor > DEFAULT_THRESHOLD:
            raise ValueError("LFR_THRESHOLD_HARD_FLOOR: above the default 0.60, no Form 1 could pass")
        return self

    def policy(self) -> GovernancePolicy:
        return GovernancePolicy(
            hard_floor=self.threshold_hard_floor,
            max_false_alerts_per_1000=self.max_false_alerts_per_1000,
            min_justification_chars=self.min_justification_chars,
        )
