"""Deployment events: past tense, frozen, non-biometric. Envelope (actor, role, time) from DomainEvent."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from lfr_platform.aggregate import DomainEvent, EventRegistry

from lfr_deployments.domain.form1 import CommunityImpactAssessment, Form1, Threshold


class EndReason(StrEnum):
    ENDED_BY_SILVER = "ended_by_silver"
    WINDOW_EXPIRED = "window_expired"


@dataclass(frozen=True, kw_only=True)
class DeploymentDrafted(DomainEvent):
    form: Form1


@dataclass(frozen=True, kw_only=True)
class Form1Amended(DomainEvent):
    form: Form1
    changed: tuple[str, ...]
    reason: str


@dataclass(frozen=True, kw_only=True)
class ThresholdChanged(DomainEvent):
    previous: Threshold
    threshold: Threshold


@dataclass(frozen=True, kw_only=True)
class AuthorisationLapsed(DomainEvent):
    """A change after authorisation: the deployment needs re-authorisation and its watchlist reopens."""

    cause: str
    watchlist_id: str | None


@dataclass(frozen=True, kw_only=True)
class CommunityImpactReassessed(DomainEvent):
    assessment: CommunityImpactAssessment


@dataclass(frozen=True, kw_only=True)
class DeploymentSubmitted(DomainEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class DeploymentAuthorised(DomainEvent):
    watchlist_id: str
    watchlist_version: int
    watchlist_size: int
    threshold: float
    expected_false_alerts_per_1000: float
    calibration_model_version: str
    notes: str = ""


@dataclass(frozen=True, kw_only=True)
class AuthorisationRefused(DomainEvent):
    reason: str


@dataclass(frozen=True, kw_only=True)
class DeploymentStarted(DomainEvent):
    pass


@dataclass(frozen=True, kw_only=True)
class DeploymentHalted(DomainEvent):
    reason: str


@dataclass(frozen=True, kw_only=True)
class DeploymentResumed(DomainEvent):
    """A new start after a halt, with the reason it is safe to continue."""

    reason: str


@dataclass(frozen=True, kw_only=True)
class DeploymentEnded(DomainEvent):
    end_reason: EndReason
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class PostDeploymentReviewRecorded(DomainEvent):
    false_alerts_examined: int
    findings: str
    report_reference: str | None = None


@dataclass(frozen=True, kw_only=True)
class DataKeyDestroyed(DomainEvent):
    """A per-deployment data key was crypto-shredded: every copy of the data it sealed is unreadable."""

    data_class: str
    key_id: str
    reason: str = ""


DEPLOYMENT_EVENTS = EventRegistry(
    DeploymentDrafted,
    Form1Amended,
    ThresholdChanged,
    AuthorisationLapsed,
    CommunityImpactReassessed,
    DeploymentSubmitted,
    DeploymentAuthorised,
    AuthorisationRefused,
    DeploymentStarted,
    DeploymentHalted,
    DeploymentResumed,
    DeploymentEnded,
    PostDeploymentReviewRecorded,
    DataKeyDestroyed,
)
