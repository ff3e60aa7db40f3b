"""Alert events (stream type `alert`, stream id = alert id), published on `lfr.alerts.events.v1`.

Every event carries `deployment_id` (the audit ledger and the post-deployment report group by it) and,
through the envelope, the actor, role and UTC time of the decision. No event holds an image: the live crop
is referenced by its encrypted blob key only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lfr_platform.aggregate import DomainEvent, EventRegistry


@dataclass(frozen=True, kw_only=True)
class MatchFacts(DomainEvent):
    """What inference reported in `FaceMatched` (shared by raised and suppressed alerts)."""

    deployment_id: str
    camera_id: str
    track_id: str
    captured_at: datetime
    score: float
    threshold: float
    watchlist_id: str
    entry_id: str
    crop_blob_key: str
    model_version: str
    face_matched_event_id: str


@dataclass(frozen=True, kw_only=True)
class AlertRaised(MatchFacts):
    review_due_at: datetime


@dataclass(frozen=True, kw_only=True)
class AlertSuppressed(MatchFacts):
    """A match of a track an operator already judged not to be this person: counted, never shown."""

    suppressed_by_alert_id: str


@dataclass(frozen=True, kw_only=True)
class AlertReviewStarted(DomainEvent):
    deployment_id: str
    decision_seconds: float  # raised -> review started


@dataclass(frozen=True, kw_only=True)
class AlertDismissed(DomainEvent):
    deployment_id: str
    reason: str
    note: str
    decision_seconds: float  # raised -> dismissed


@dataclass(frozen=True, kw_only=True)
class AlertEngaged(DomainEvent):
    """The operator dispatched an engagement officer: a person, not the system, acts next."""

    deployment_id: str
    note: str
    decision_seconds: float  # raised -> engaged


@dataclass(frozen=True, kw_only=True)
class EngagementOutcomeRecorded(DomainEvent):
    deployment_id: str
    outcome: str
    action: str
    action_detail: str
    note: str
    decision_seconds: float  # engaged -> outcome recorded
    seconds_since_raised: float


@dataclass(frozen=True, kw_only=True)
class AlertNotReviewed(DomainEvent):
    deployment_id: str
    review_timeout_seconds: float
    decision_seconds: float  # raised -> marked not reviewed


ALERT_EVENTS = EventRegistry(
    AlertRaised,
    AlertSuppressed,
    AlertReviewStarted,
    AlertDismissed,
    AlertEngaged,
    EngagementOutcomeRecorded,
    AlertNotReviewed,
)
