"""Configured governance limits the aggregate enforces (values come from settings at start-up)."""

from __future__ import annotations

from dataclasses import dataclass

from lfr_platform.errors import DomainRuleViolation

from lfr_deployments.domain.form1 import DEFAULT_THRESHOLD, Threshold


@dataclass(frozen=True, kw_only=True)
class GovernancePolicy:
    # Below this a threshold needs a recorded, specific justification (Form 1).
    justification_below: float = DEFAULT_THRESHOLD
    # The reference study found false matches demographically imbalanced at 0.58 and below, so the
    # default floor sits just above it. Configuration may raise it, never lower it below zero.
    hard_floor: float = 0.59
    # The standing direction: expected false alerts per 1,000 faces processed must not exceed this.
    max_false_alerts_per_1000: float = 1.0
    # A written justification has to say something specific, not "ok".
    min_justification_chars: int = 20

    def check_threshold(self, threshold: Threshold) -> None:
        value = threshold.value
        if not 0.0 < value < 1.0:
            raise DomainRuleViolation(
                "the face-match threshold is a calibrated score strictly between 0 and 1",
                code="threshold_out_of_range",
                details={"threshold": value},
            )
        if value < self.hard_floor:
            raise DomainRuleViolation(
                f"threshold {value:.2f} is below the configured hard floor {self.hard_floor:.2f}",
                code="threshold_below_floor",
                details={"threshold": value, "hard_floor": self.hard_floor},
            )
        if value < self.justification_below:
            written = (threshold.justification or "").strip()
            if len(written) < self.min_justification_chars:
                raise DomainRuleViolation(
                    f"a threshold below {self.justification_below:.2f} needs a specific written "
                    f"justification (at least {self.min_justification_chars} characters)",
                    code="threshold_justification_required",
                    details={"threshold": value},
                )

    def check_false_alert_rate(self, expected_per_1000: float) -> None:
        if expected_per_1000 > self.max_false_alerts_per_1000:
            raise DomainRuleViolation(
                f"expected false alert rate {expected_per_1000:.3f} per 1,000 faces exceeds the "
                f"direction of {self.max_false_alerts_per_1000:g} per 1,000",
                code="false_alert_rate_exceeds_direction",
                details={
                    "expected_false_alerts_per_1000": expected_per_1000,
                    "max_false_alerts_per_1000": self.max_false_alerts_per_1000,
                },
            )
