"""The Alert aggregate: one face match and the human decisions about it.

    raised (pending) --review--> in_review --dismiss--> dismissed
          |                          |
          +--------engage------------+--engage--> engaged --record outcome--> outcome_recorded
          |
          +--(no one reviewed it in time)--> not_reviewed
    suppressed: a match of a track already judged `not_the_person` (terminal, never shown as an alert)

Nothing here acts on a person: the system only raises, suppresses and times out. Dismissing, engaging
and recording an outcome are decisions of people, each recorded with who, in which role, and when.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from lfr_platform.aggregate import Aggregate, DomainEvent
from lfr_platform.errors import DomainRuleViolation, InvalidInput

from lfr_alerts.domain.events import (
    AlertDismissed,
    AlertEngaged,
    AlertNotReviewed,
    AlertRaised,
    AlertReviewStarted,
    AlertSuppressed,
    EngagementOutcomeRecorded,
    MatchFacts,
)

SYSTEM_ACTOR = "lfr-alerts"
SYSTEM_ROLE = "system"


class AlertStatus(StrEnum):
    PENDING = "pending"
    IN_REVIEW = "in_review"
    DISMISSED = "dismissed"
    ENGAGED = "engaged"
    OUTCOME_RECORDED = "outcome_recorded"
    NOT_REVIEWED = "not_reviewed"
    SUPPRESSED = "suppressed"


OPEN = frozenset({AlertStatus.PENDING, AlertStatus.IN_REVIEW})


class DismissReason(StrEnum):
    NOT_THE_PERSON = "not_the_person"  # suppresses further alerts of the track for this subject
    POOR_IMAGE = "poor_image"
    DUPLICATE = "duplicate"
    OTHER = "other"  # needs a note


class Outcome(StrEnum):
    CONFIRMED_MATCH = "confirmed_match"
    NOT_THE_PERSON = "not_the_person"  # a false alert
    NOT_LOCATED = "not_located"


class Action(StrEnum):
    ARREST = "arrest"
    SAFEGUARDING = "safeguarding"
    WORDS_OF_ADVICE = "words_of_advice"
    NONE = "none"
    OTHER = "other"  # needs action_detail


MAX_TEXT = 2000


@dataclass(frozen=True)
class Match:
    """A `FaceMatched` fact as the alerts service receives it."""

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

    def fields(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _choice(enum: type[StrEnum], value: str, what: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum)
        raise InvalidInput(f"unknown {what} {value!r}; choose one of: {allowed}") from None


def _text(value: str, what: str) -> str:
    value = value.strip()
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{what} is longer than {MAX_TEXT} characters")
    return value


class Alert(Aggregate):
    stream_type = "alert"

    def _init_state(self) -> None:
        self.status = AlertStatus.PENDING
        self.match: Match | None = None
        self.raised_at: datetime | None = None
        self.review_due_at: datetime | None = None
        self.engaged_at: datetime | None = None
        self.outcome: str | None = None
        self.suppressed_by: str | None = None
        self.history: list[dict[str, Any]] = []

    # Creation -----------------------------------------------------------------------------------------

    @classmethod
    def raise_for(cls, alert_id: str, match: Match, *, review_within: timedelta, at: datetime) -> Alert:
        alert = cls(alert_id)
        alert._trigger(
            AlertRaised,
            actor=SYSTEM_ACTOR,
            role=SYSTEM_ROLE,
            at=at,
            review_due_at=at + review_within,
            **match.fields(),
        )
        return alert

    @classmethod
    def suppress(cls, alert_id: str, match: Match, *, suppressed_by: str, at: datetime) -> Alert:
        alert = cls(alert_id)
        alert._trigger(
            AlertSuppressed,
            actor=SYSTEM_ACTOR,
            role=SYSTEM_ROLE,
            at=at,
            suppressed_by_alert_id=suppressed_by,
            **match.fields(),
        )
        return alert

    # Human decisions ----------------------------------------------------------------------------------

    def start_review(self, *, actor: str, role: str, at: datetime) -> None:
        if self.status == AlertStatus.IN_REVIEW:
            return  # a second screen opening it is not a new decision
        self._require_open("review")
        self._trigger(AlertReviewStarted, actor=actor, role=role, at=at, deployment_id=self.deployment_id,
                      decision_seconds=self._since_raised(at))  # fmt: skip

    def dismiss(self, reason: str, note: str, *, actor: str, role: str, at: datetime) -> None:
        chosen = _choice(DismissReason, reason, "dismissal reason")
        note = _text(note, "note")
        if chosen == DismissReason.OTHER and not note:
            raise InvalidInput("a dismissal for reason 'other' needs a note saying why")
        self._require_open("dismiss")
        self._trigger(AlertDismissed, actor=actor, role=role, at=at, deployment_id=self.deployment_id,
                      reason=chosen.value, note=note, decision_seconds=self._since_raised(at))  # fmt: skip

    def engage(self, note: str, *, actor: str, role: str, at: datetime) -> None:
        note = _text(note, "note")
        self._require_open("engage")
        self._trigger(AlertEngaged, actor=actor, role=role, at=at, deployment_id=self.deployment_id,
                      note=note, decision_seconds=self._since_raised(at))  # fmt: skip

    def record_outcome(
        self, outcome: str, action: str, action_detail: str, note: str, *, actor: str, role: str, at: datetime
    ) -> None:
        chosen = _choice(Outcome, outcome, "outcome")
        taken = _choice(Action, action, "action")
        action_detail, note = _text(action_detail, "action detail"), _text(note, "note")
        if taken == Action.OTHER and not action_detail:
            raise InvalidInput("action 'other' needs action_detail describing what was done")
        if chosen != Outcome.CONFIRMED_MATCH and taken in (Action.ARREST, Action.SAFEGUARDING):
            raise DomainRuleViolation(
                f"action {taken.value!r} follows only a confirmed match, not {chosen.value!r}",
                code="action_needs_confirmed_match",
            )
        if self.status != AlertStatus.ENGAGED:
            raise DomainRuleViolation(
                f"alert {self.id} is {self.status.value}: an outcome is recorded only after an operator "
                "engaged it",
                code="alert_not_engaged",
            )
        assert self.engaged_at is not None
        self._trigger(EngagementOutcomeRecorded, actor=actor, role=role, at=at,
                      deployment_id=self.deployment_id, outcome=chosen.value, action=taken.value,
                      action_detail=action_detail, note=note,
                      decision_seconds=_seconds(at - self.engaged_at),
                      seconds_since_raised=self._since_raised(at))  # fmt: skip

    # The scheduler ------------------------------------------------------------------------------------

    def is_overdue(self, now: datetime) -> bool:
        due = self.review_due_at
        return self.status == AlertStatus.PENDING and due is not None and now >= due

    def mark_not_reviewed(self, *, at: datetime) -> None:
        if not self.is_overdue(at):
            raise DomainRuleViolation(f"alert {self.id} is not overdue for review", code="alert_not_overdue")
        assert self.raised_at is not None and self.review_due_at is not None
        self._trigger(AlertNotReviewed, actor=SYSTEM_ACTOR, role=SYSTEM_ROLE, at=at,
                      deployment_id=self.deployment_id,
                      review_timeout_seconds=_seconds(self.review_due_at - self.raised_at),
                      decision_seconds=self._since_raised(at))  # fmt: skip

    # Queries ------------------------------------------------------------------------------------------

    @property
    def deployment_id(self) -> str:
        assert self.match is not None
        return self.match.deployment_id

    @property
    def judged_not_the_person(self) -> bool:
        """Did a person judge this match wrong? (Then the track's further matches are suppressed.)"""
        if self.outcome == Outcome.NOT_THE_PERSON:
            return True
        return any(h["event_type"] == "AlertDismissed" and h.get("reason") == "not_the_person"
                   for h in self.history)  # fmt: skip

    def view(self) -> dict[str, Any]:
        """The read model row: references and facts, never images."""
        assert self.match is not None and self.raised_at is not None
        match = self.match
        return {
            "alert_id": self.id,
            "status": self.status.value,
            "deployment_id": match.deployment_id,
            "camera_id": match.camera_id,
            "track_id": match.track_id,
            "captured_at": match.captured_at.isoformat(),
            "raised_at": self.raised_at.isoformat(),
            "review_due_at": self.review_due_at.isoformat() if self.review_due_at else None,
            "score": match.score,
            "threshold": match.threshold,
            "watchlist_id": match.watchlist_id,
            "entry_id": match.entry_id,
            "model_version": match.model_version,
            "face_matched_event_id": match.face_matched_event_id,
            "outcome": self.outcome,
            "suppressed_by_alert_id": self.suppressed_by,
            "version": self.version,
            "history": list(self.history),
        }

    # Internals ----------------------------------------------------------------------------------------

    def _require_open(self, verb: str) -> None:
        if self.status not in OPEN:
            raise DomainRuleViolation(
                f"cannot {verb} alert {self.id}: it is already {self.status.value}", code="alert_not_open"
            )

    def _since_raised(self, at: datetime) -> float:
        assert self.raised_at is not None
        return _seconds(at - self.raised_at)

    def _apply(self, event: DomainEvent) -> None:
        step: dict[str, Any] = {
            "event_type": event.event_type(),
            "at": event.occurred_at.isoformat(),
            "actor": event.actor,
            "role": event.role,
        }
        if isinstance(event, MatchFacts):
            fields = {name: getattr(event, name) for name in Match.__dataclass_fields__}
            self.match = Match(**fields)
            self.raised_at = event.occurred_at
        if isinstance(event, AlertRaised):
            self.status = AlertStatus.PENDING
            self.review_due_at = event.review_due_at
        elif isinstance(event, AlertSuppressed):
            self.status = AlertStatus.SUPPRESSED
            self.suppressed_by = event.suppressed_by_alert_id
        elif isinstance(event, AlertReviewStarted):
            self.status = AlertStatus.IN_REVIEW
            step["decision_seconds"] = event.decision_seconds
        elif isinstance(event, AlertDismissed):
            self.status = AlertStatus.DISMISSED
            step.update(reason=event.reason, note=event.note, decision_seconds=event.decision_seconds)
        elif isinstance(event, AlertEngaged):
            self.status = AlertStatus.ENGAGED
            self.engaged_at = event.occurred_at
            step.update(note=event.note, decision_seconds=event.decision_seconds)
        elif isinstance(event, EngagementOutcomeRecorded):
            self.status = AlertStatus.OUTCOME_RECORDED
            self.outcome = event.outcome
            step.update(outcome=event.outcome, action=event.action, action_detail=event.action_detail,
                        note=event.note, decision_seconds=event.decision_seconds)  # fmt: skip
        elif isinstance(event, AlertNotReviewed):
            self.status = AlertStatus.NOT_REVIEWED
            step["decision_seconds"] = event.decision_seconds
        self.history.append(step)


def _seconds(delta: timedelta) -> float:
    return round(max(delta.total_seconds(), 0.0), 3)
