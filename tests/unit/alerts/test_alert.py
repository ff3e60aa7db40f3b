"""The Alert aggregate's rules: human decisions only, recorded with actor, role and time to decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from lfr_alerts.domain.alert import Alert, AlertStatus, Match
from lfr_alerts.domain.events import ALERT_EVENTS
from lfr_platform.errors import DomainRuleViolation, InvalidInput

T0 = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
OPERATOR = {"actor": "op-1", "role": "operator"}
OFFICER = {"actor": "eo-7", "role": "engagement_officer"}


def a_match(**changes: object) -> Match:
    fields: dict[str, object] = dict(
        deployment_id="dep-1", camera_id="cam-1", track_id="trk-1", captured_at=T0 - timedelta(seconds=1),
        score=0.71, threshold=0.6, watchlist_id="wl-1", entry_id="ent-1",
        crop_blob_key="alert_media/dep-1/blob1", model_version="m1", face_matched_event_id="fm-1",
    )  # fmt: skip
    fields.update(changes)
    return Match(**fields)  # type: ignore[arg-type]


def raised(review_within: timedelta = timedelta(minutes=5)) -> Alert:
    return Alert.raise_for("al-1", a_match(), review_within=review_within, at=T0)


def test_raised_alert_is_pending_and_carries_the_match_facts() -> None:
    alert = raised()
    [event] = alert.pending
    assert event.event_type() == "AlertRaised"
    assert (event.actor, event.role) == ("lfr-alerts", "system")
    payload = event.payload()
    assert payload["deployment_id"] == "dep-1" and payload["score"] == 0.71
    assert payload["crop_blob_key"] == "alert_media/dep-1/blob1"
    assert payload["review_due_at"] == (T0 + timedelta(minutes=5)).isoformat().replace("+00:00", "Z")
    assert alert.status == AlertStatus.PENDING


def test_review_then_dismiss_records_who_and_time_to_decision() -> None:
    alert = raised()
    alert.start_review(**OPERATOR, at=T0 + timedelta(seconds=4))
    alert.dismiss("poor_image", "blurred", **OPERATOR, at=T0 + timedelta(seconds=9))
    review, dismissal = alert.pending[1:]
    assert review.decision_seconds == 4.0  # type: ignore[attr-defined]
    assert (dismissal.actor, dismissal.role) == ("op-1", "operator")
    assert dismissal.decision_seconds == 9.0  # type: ignore[attr-defined]
    assert alert.status == AlertStatus.DISMISSED
    with pytest.raises(DomainRuleViolation) as refused:
        alert.engage("", **OPERATOR, at=T0 + timedelta(seconds=10))
    assert refused.value.code == "alert_not_open"


def test_engage_then_outcome_measures_from_engagement() -> None:
    alert = raised()
    alert.engage("PC 123 dispatched", **OPERATOR, at=T0 + timedelta(seconds=20))
    alert.record_outcome("confirmed_match", "arrest", "", "", **OFFICER, at=T0 + timedelta(seconds=140))
    outcome = alert.pending[-1]
    assert outcome.event_type() == "EngagementOutcomeRecorded"
    assert outcome.decision_seconds == 120.0  # type: ignore[attr-defined]
    assert outcome.seconds_since_raised == 140.0  # type: ignore[attr-defined]
    assert alert.status == AlertStatus.OUTCOME_RECORDED and alert.outcome == "confirmed_match"


def test_outcome_needs_an_engagement_and_valid_choices() -> None:
    alert = raised()
    with pytest.raises(DomainRuleViolation) as refused:
        alert.record_outcome("confirmed_match", "none", "", "", **OFFICER, at=T0)
    assert refused.value.code == "alert_not_engaged"
    alert.engage("", **OPERATOR, at=T0)
    with pytest.raises(InvalidInput):
        alert.record_outcome("identified", "none", "", "", **OFFICER, at=T0)
    with pytest.raises(InvalidInput):
        alert.record_outcome("confirmed_match", "other", "", "", **OFFICER, at=T0)
    with pytest.raises(DomainRuleViolation) as arrest:
        alert.record_outcome("not_the_person", "arrest", "", "", **OFFICER, at=T0)
    assert arrest.value.code == "action_needs_confirmed_match"
    alert.record_outcome("not_located", "other", "searched the concourse", "", **OFFICER, at=T0)
    assert alert.status == AlertStatus.OUTCOME_RECORDED


def test_dismissal_reason_other_needs_a_note() -> None:
    alert = raised()
    with pytest.raises(InvalidInput):
        alert.dismiss("other", "  ", **OPERATOR, at=T0)
    with pytest.raises(InvalidInput):
        alert.dismiss("looked fine", "", **OPERATOR, at=T0)
    assert alert.status == AlertStatus.PENDING


def test_not_reviewed_only_after_the_timeout_and_only_when_pending() -> None:
    alert = raised(timedelta(seconds=60))
    assert not alert.is_overdue(T0 + timedelta(seconds=59))
    with pytest.raises(DomainRuleViolation):
        alert.mark_not_reviewed(at=T0 + timedelta(seconds=59))
    alert.mark_not_reviewed(at=T0 + timedelta(seconds=61))
    last = alert.pending[-1]
    assert last.event_type() == "AlertNotReviewed" and last.decision_seconds == 61.0  # type: ignore[attr-defined]
    reviewed = raised(timedelta(seconds=60))
    reviewed.start_review(**OPERATOR, at=T0 + timedelta(seconds=1))
    assert not reviewed.is_overdue(T0 + timedelta(hours=1))  # someone is looking at it


def test_judged_not_the_person_by_dismissal_or_outcome() -> None:
    dismissed = raised()
    dismissed.dismiss("not_the_person", "", **OPERATOR, at=T0)
    assert dismissed.judged_not_the_person
    engaged = raised()
    engaged.engage("", **OPERATOR, at=T0)
    assert not engaged.judged_not_the_person
    engaged.record_outcome("not_the_person", "none", "", "", **OFFICER, at=T0)
    assert engaged.judged_not_the_person


def test_suppressed_alert_is_terminal() -> None:
    alert = Alert.suppress("al-2", a_match(), suppressed_by="al-1", at=T0)
    assert alert.status == AlertStatus.SUPPRESSED and alert.pending[0].event_type() == "AlertSuppressed"
    with pytest.raises(DomainRuleViolation):
        alert.start_review(**OPERATOR, at=T0)


def test_rehydrated_alert_equals_the_live_one() -> None:
    alert = raised()
    alert.start_review(**OPERATOR, at=T0 + timedelta(seconds=1))
    alert.engage("", **OPERATOR, at=T0 + timedelta(seconds=2))
    events = alert.collect_pending()
    rebuilt = Alert.rehydrate(
        "al-1",
        [
            ALERT_EVENTS.rebuild(e.event_type(), data=e.payload(), stream_id=e.stream_id, version=e.version,
                                 occurred_at=e.occurred_at, actor=e.actor, role=e.role)
            for e in events
        ],
    )  # fmt: skip
    assert rebuilt.view() == alert.view()
    assert [step["event_type"] for step in rebuilt.view()["history"]] == [
        "AlertRaised", "AlertReviewStarted", "AlertEngaged"
    ]  # fmt: skip
