"""The Hold aggregate: reason, proceedings reference and a bounded expiry; release is explicit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from lfr_platform.errors import DomainRuleViolation
from lfr_retention.domain.events import HoldPlaced, HoldReleased
from lfr_retention.domain.hold import Hold
from lfr_retention.domain.policy import AlertMediaPolicy

NOW = datetime(2026, 6, 1, tzinfo=UTC)
POLICY = AlertMediaPolicy()


def place(**changes: object) -> Hold:
    fields: dict[str, object] = {
        "hold_id": "h-1", "alert_id": "alert-1", "reason": "prosecution", "proceedings_reference": "CPS-1",
        "expires_at": NOW + timedelta(days=90), "policy": POLICY, "actor": "supt-ao",
        "role": "authorising_officer", "at": NOW,
    }  # fmt: skip
    fields.update(changes)
    return Hold.place(**fields)  # type: ignore[arg-type]


def test_placing_and_releasing_are_attributed_events() -> None:
    hold = place()
    assert hold.active_at(NOW + timedelta(days=89)) and not hold.active_at(NOW + timedelta(days=90))
    hold.release("case closed", actor="supt-ao", role="authorising_officer", at=NOW + timedelta(days=1))
    placed, released = hold.collect_pending()
    assert (
        isinstance(placed, HoldPlaced)
        and placed.actor == "supt-ao"
        and placed.proceedings_reference == "CPS-1"
    )
    assert isinstance(released, HoldReleased) and released.reason == "case closed"
    assert not hold.active_at(NOW + timedelta(days=2))
    with pytest.raises(DomainRuleViolation) as caught:
        hold.release("again", actor="supt-ao", role="authorising_officer", at=NOW)
    assert caught.value.code == "hold_already_released"


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"reason": "  "}, "hold_reason_required"),
        ({"proceedings_reference": ""}, "proceedings_reference_required"),
        ({"expires_at": NOW}, "hold_expiry_in_past"),
        ({"expires_at": NOW + timedelta(days=400)}, "hold_too_long"),
        ({"policy": AlertMediaPolicy(holds_allowed=False)}, "holds_not_allowed"),
    ],
)
def test_a_hold_is_refused_without_its_justification(changes: dict[str, object], code: str) -> None:
    with pytest.raises(DomainRuleViolation) as caught:
        place(**changes)
    assert caught.value.code == code
