"""The retention policy: one YAML document, validated, per data class (deploy/retention-policy.yaml).

A policy error names the field (`alert_media.retention_days: ...`) so whoever edits the file can fix it
without reading code. Periods are bounded: the frames topic may never keep more than 60 s.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

FRAMES_MAX_SECONDS = 60


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class UnmatchedBiometrics(_Strict):
    """Faces that match nobody: dropped in memory by inference; the scan verifies nothing persisted."""

    persisted: Literal[False] = False


class FramesPolicy(_Strict):
    topic: str = "lfr.ingest.frames.v1"
    max_retention_seconds: int = Field(default=FRAMES_MAX_SECONDS, gt=0, le=FRAMES_MAX_SECONDS)
    destroy_key_at_deployment_end: bool = True


class AlertMediaPolicy(_Strict):
    """Alert crops and scores: kept `retention_days` from the alert unless a hold links them to
    proceedings."""

    retention_days: int = Field(default=31, ge=1, le=366)
    holds_allowed: bool = True
    max_hold_days: int = Field(default=366, ge=1)

    @property
    def retention(self) -> timedelta:
        return timedelta(days=self.retention_days)


class WatchlistMediaPolicy(_Strict):
    """Watchlist images and templates: deleted this long after their deployment ends."""

    hours_after_deployment_end: int = Field(default=24, ge=0, le=24 * 7)

    @property
    def grace(self) -> timedelta:
        return timedelta(hours=self.hours_after_deployment_end)


class CameraCredentialsPolicy(_Strict):
    delete_when: Literal["camera_decommissioned"] = "camera_decommissioned"


class AuditLedgerPolicy(_Strict):
    """The ledger is kept: it holds events only, and events never contain biometrics."""

    keep: Literal[True] = True
    contains_biometrics: Literal[False] = False


class RetentionPolicy(_Strict):
    version: Literal[1] = 1
    name: str = "default"
    unmatched_biometrics: UnmatchedBiometrics = UnmatchedBiometrics()
    frames: FramesPolicy = FramesPolicy()
    alert_media: AlertMediaPolicy = AlertMediaPolicy()
    watchlist_media: WatchlistMediaPolicy = WatchlistMediaPolicy()
    camera_credentials: CameraCredentialsPolicy = CameraCredentialsPolicy()
    audit_ledger: AuditLedgerPolicy = AuditLedgerPolicy()

    def reference(self, data_class: str) -> str:
        """What a receipt cites: policy name, version and the rule applied."""
        rules = {
            "alert_media": f"alert_media.retention_days={self.alert_media.retention_days}",
            "watchlist_media": (
                f"watchlist_media.hours_after_deployment_end={self.watchlist_media.hours_after_deployment_end}"
            ),
            "frames": "frames.destroy_key_at_deployment_end",
        }
        return f"{self.name}@v{self.version}:{rules.get(data_class, data_class)}"


class PolicyError(ValueError):
    """The policy file is invalid; the message names each offending field."""


def parse_policy(raw: Any, source: str = "retention policy") -> RetentionPolicy:
    try:
        return RetentionPolicy.model_validate(raw if raw is not None else {})
    except ValidationError as error:
        problems = [
            f"{'.'.join(str(part) for part in e['loc']) or '<root>'}: {e['msg']}" for e in error.errors()
        ]
        raise PolicyError(f"{source} is invalid:\n  " + "\n  ".join(problems)) from None


def policy_from_yaml(text: str, source: str = "retention policy") -> RetentionPolicy:
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise PolicyError(f"{source} is not valid YAML: {error}") from None
    return parse_policy(raw, source)


def load_policy(path: Path | None) -> RetentionPolicy:
    if path is None:
        return RetentionPolicy()
    return policy_from_yaml(path.read_text(), str(path))
