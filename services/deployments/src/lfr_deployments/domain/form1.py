"""Form 1 value objects: what an authorising officer approves in writing.

Every field here is non-biometric. Validation that needs no context (scores in range, aware times)
lives in the value objects; rules that depend on configuration or lifecycle live in `rules.py` and
the aggregate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from lfr_platform.clock import utc
from lfr_platform.errors import DomainRuleViolation

DEFAULT_THRESHOLD = 0.60


class LegitimateAim(StrEnum):
    """The legitimate aims of ECHR Article 8(2) that a police deployment may pursue."""

    PREVENTION_OF_DISORDER_OR_CRIME = "prevention_of_disorder_or_crime"
    PUBLIC_SAFETY = "public_safety"
    NATIONAL_SECURITY = "national_security"
    PROTECTION_OF_RIGHTS_AND_FREEDOMS_OF_OTHERS = "protection_of_rights_and_freedoms_of_others"
    PROTECTION_OF_HEALTH_OR_MORALS = "protection_of_health_or_morals"
    ECONOMIC_WELL_BEING = "economic_well_being"


@dataclass(frozen=True, kw_only=True)
class PolicingPurpose:
    aim: LegitimateAim
    description: str


@dataclass(frozen=True, kw_only=True)
class Location:
    name: str
    zones: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Window:
    """The authorised time window, aware UTC, start inclusive, end exclusive."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", utc(self.start))
        object.__setattr__(self, "end", utc(self.end))
        if self.end <= self.start:
            raise DomainRuleViolation(
                "the deployment window must end after it starts",
                code="window_invalid",
                details={"start": self.start.isoformat(), "end": self.end.isoformat()},
            )

    def contains(self, moment: datetime) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True, kw_only=True)
class Threshold:
    """The face-match threshold and, when below the default, its written justification."""

    value: float = DEFAULT_THRESHOLD
    justification: str | None = None


@dataclass(frozen=True, kw_only=True)
class CompositionDeclaration:
    """Whether the watchlist contains people believed under 18, under 13, or with a disability."""

    under_18: bool = False
    under_13: bool = False
    disability: bool = False

    def __post_init__(self) -> None:
        if self.under_13 and not self.under_18:
            raise DomainRuleViolation(
                "a watchlist declared to contain people under 13 also contains people under 18",
                code="composition_declaration_inconsistent",
            )

    @property
    def needs_legal_advice(self) -> bool:
        return self.under_13 or self.disability


@dataclass(frozen=True, kw_only=True)
class TensionScores:
    """Community tension on the three scales: 1 (imminent) .. 6 (normal)."""

    experienced: int
    evidenced: int
    potential: int

    def __post_init__(self) -> None:
        for scale in ("experienced", "evidenced", "potential"):
            score = getattr(self, scale)
            if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 6:
                raise DomainRuleViolation(
                    f"{scale} tension must be a whole number from 1 (imminent) to 6 (normal)",
                    code="tension_score_out_of_range",
                    details={"scale": scale, "score": score},
                )


@dataclass(frozen=True, kw_only=True)
class CommunityImpactAssessment:
    scores: TensionScores
    assessed_at: datetime
    stakeholders_consulted: tuple[str, ...]
    notes: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "assessed_at", utc(self.assessed_at))
        if not any(s.strip() for s in self.stakeholders_consulted):
            raise DomainRuleViolation(
                "a community impact assessment names the stakeholders consulted",
                code="stakeholders_required",
            )


@dataclass(frozen=True, kw_only=True)
class Form1:
    """The deployment's written authorisation request."""

    purpose: PolicingPurpose
    location: Location
    window: Window
    cameras: tuple[str, ...] = ()
    threshold: Threshold = field(default_factory=Threshold)
    watchlist_id: str | None = None
    composition: CompositionDeclaration = field(default_factory=CompositionDeclaration)
    legal_advice_reference: str | None = None
    operators: tuple[str, ...] = ()  # people assigned to monitor alerts; an AO may not be one

    def changed_fields(self, other: Form1) -> tuple[str, ...]:
        return tuple(
            name for name in self.__dataclass_fields__ if getattr(self, name) != getattr(other, name)
        )
