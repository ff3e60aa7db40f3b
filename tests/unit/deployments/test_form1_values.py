"""Form 1 value objects refuse impossible values where they are made."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest
from lfr_deployments.domain.deployment import Deployment
from lfr_deployments.domain.form1 import (
    CommunityImpactAssessment,
    CompositionDeclaration,
    TensionScores,
    Threshold,
    Window,
)
from lfr_deployments.domain.policy import GovernancePolicy
from lfr_platform.clock import ManualClock
from lfr_platform.errors import DomainRuleViolation

from .conftest import complete_form

T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)


def scores(**over: object) -> Callable[[], object]:
    values = {"experienced": 5, "evidenced": 5, "potential": 5, **over}
    return lambda: TensionScores(**values)  # type: ignore[arg-type]


CASES: list[tuple[str, Callable[[], object]]] = [
    ("window_invalid", lambda: Window(start=T0, end=T0)),
    ("window_invalid", lambda: Window(start=T0, end=T0 - timedelta(hours=1))),
    ("tension_score_out_of_range", scores(experienced=0)),
    ("tension_score_out_of_range", scores(evidenced=7)),
    ("tension_score_out_of_range", scores(potential=True)),
    ("stakeholders_required", lambda: CommunityImpactAssessment(
        scores=TensionScores(experienced=6, evidenced=6, potential=6), assessed_at=T0,
        stakeholders_consulted=(" ",))),
    ("composition_declaration_inconsistent", lambda: CompositionDeclaration(under_13=True)),
]


@pytest.mark.parametrize(("code", "make"), CASES)
def test_value_objects_refuse(code: str, make: Callable[[], object]) -> None:
    with pytest.raises(DomainRuleViolation) as refused:
        make()
    assert refused.value.code == code


def test_valid_values_are_accepted() -> None:
    assert TensionScores(experienced=1, evidenced=6, potential=3).evidenced == 6
    assert Window(start=T0, end=T0 + timedelta(hours=1)).contains(T0)
    assert CompositionDeclaration(under_18=True, under_13=True).needs_legal_advice


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError):
        Window(start=datetime(2026, 11, 23, 8), end=datetime(2026, 11, 23, 9))


def test_amend_cannot_smuggle_a_threshold_change() -> None:
    clock = ManualClock(T0)
    deployment = Deployment.draft("d", complete_form(), GovernancePolicy(), actor="a", role="r", at=T0)
    with pytest.raises(DomainRuleViolation) as refused:
        deployment.amend({"threshold": Threshold(value=0.59)}, "", actor="a", role="r", at=clock.now())
    assert refused.value.code == "use_change_threshold"


@pytest.mark.parametrize(
    ("policy", "threshold", "code"),
    [
        (GovernancePolicy(hard_floor=0.62), Threshold(value=0.61, justification="x" * 30),
         "threshold_below_floor"),
        (GovernancePolicy(), Threshold(value=0.0), "threshold_out_of_range"),
        (GovernancePolicy(min_justification_chars=50), Threshold(value=0.595, justification="y" * 49),
         "threshold_justification_required"),
    ],
)
def test_threshold_policy_is_configurable(policy: GovernancePolicy, threshold: Threshold, code: str) -> None:
    with pytest.raises(DomainRuleViolation) as refused:
        policy.check_threshold(threshold)
    assert refused.value.code == code


def test_default_threshold_needs_no_justification() -> None:
    GovernancePolicy().check_threshold(Threshold())
    GovernancePolicy().check_threshold(Threshold(value=0.595, justification="z" * 20))
