"""`Hold`: keeps one alert's data past its retention while it is linked to proceedings.

A hold has a reason, a proceedings reference and an expiry; an expired hold stops protecting without
anyone acting (no data is kept forever by oversight). Release is explicit and attributable.
"""

from __future__ import annotations

from datetime import datetime

from lfr_platform.aggregate import Aggregate, DomainEvent
from lfr_platform.errors import DomainRuleViolation

from lfr_retention.domain.events import HoldPlaced, HoldReleased
from lfr_retention.domain.policy import AlertMediaPolicy


class Hold(Aggregate):
    stream_type = "hold"

    def _init_state(self) -> None:
        self.alert_id = ""
        self.reason = ""
        self.proceedings_reference = ""
        self.expires_at: datetime | None = None
        self.placed_at: datetime | None = None
        self.released = False

    @classmethod
    def place(
        cls,
        hold_id: str,
        alert_id: str,
        reason: str,
        proceedings_reference: str,
        expires_at: datetime,
        policy: AlertMediaPolicy,
        *,
        actor: str,
        role: str,
        at: datetime,
    ) -> Hold:
        if not policy.holds_allowed:
            raise DomainRuleViolation("the retention policy allows no holds", code="holds_not_allowed")
        if not reason.strip():
            raise DomainRuleViolation("a hold needs a reason", code="hold_reason_required")
        if not proceedings_reference.strip():
            raise DomainRuleViolation(
                "a hold must name the proceedings it is linked to", code="proceedings_reference_required"
            )
        if expires_at <= at:
            raise DomainRuleViolation("a hold must expire in the future", code="hold_expiry_in_past")
        if (expires_at - at).days > policy.max_hold_days:
            raise DomainRuleViolation(
                f"a hold may last at most {policy.max_hold_days} days; renew it when it expires",
                code="hold_too_long",
            )
        hold = cls(hold_id)
        hold._trigger(
            HoldPlaced,
            actor=actor,
            role=role,
            at=at,
            alert_id=alert_id,
            reason=reason.strip(),
            proceedings_reference=proceedings_reference.strip(),
            expires_at=expires_at,
        )
        return hold

    def release(self, reason: str, *, actor: str, role: str, at: datetime) -> None:
        if self.released:
            raise DomainRuleViolation("the hold was already released", code="hold_already_released")
        if not reason.strip():
            raise DomainRuleViolation("releasing a hold needs a reason", code="release_reason_required")
        self._trigger(HoldReleased, actor=actor, role=role, at=at, alert_id=self.alert_id, reason=reason)

    def active_at(self, moment: datetime) -> bool:
        return not self.released and self.expires_at is not None and moment < self.expires_at

    def _apply(self, event: DomainEvent) -> None:
        if isinstance(event, HoldPlaced):
            self.alert_id = event.alert_id
            self.reason = event.reason
            self.proceedings_reference = event.proceedings_reference
            self.expires_at = event.expires_at
            self.placed_at = event.occurred_at
        elif isinstance(event, HoldReleased):
            self.released = True

    def view(self) -> dict[str, object]:
        return {
            "hold_id": self.id,
            "alert_id": self.alert_id,
            "reason": self.reason,
            "proceedings_reference": self.proceedings_reference,
            "expires_at": self.expires_at.isoformat() if self.expires_at else None,
            "placed_at": self.placed_at.isoformat() if self.placed_at else None,
            "released": self.released,
        }
