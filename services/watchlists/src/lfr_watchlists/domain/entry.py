"""A watchlist entry's facts: why the person is on it and what the images are. Never the images.

Images and templates are referenced by blob id (ciphertext under the deployment's key); everything
here is non-biometric. What the manager submits (`EntryDetails`) is validated whole, then split: the
`EntryFacts` that rules and reports need stay in the event in clear; the `PersonalDetails` that would
identify or describe the person are sealed under the deployment's key like the images (a `SealedRef`
in the event), so retention erases them by shredding that key. Events are immutable and the audit
ledger keeps them for years, so nothing in clear there may need erasing later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from lfr_platform.errors import DomainRuleViolation


class Category(StrEnum):
    WANTED_ON_WARRANT = "wanted_on_warrant"
    UNLAWFULLY_AT_LARGE = "unlawfully_at_large"
    SUSPECT = "suspect"
    MISSING_OR_AT_RISK = "missing_or_at_risk"
    COURT_ORDER_OR_BAIL_BREACH = "court_order_or_bail_breach"
    FIXATED_THREAT = "fixated_threat"
    OTHER = "other"


class ImageSource(StrEnum):
    CUSTODY = "custody"
    FAMILY_SUPPLIED = "family_supplied"
    OTHER = "other"


class AgeBand(StrEnum):
    """Believed age when no date of birth is known."""

    UNDER_13 = "under_13"
    AGE_13_TO_17 = "13_to_17"
    ADULT = "18_plus"


@dataclass(frozen=True, kw_only=True)
class EntryFacts:
    """What the event records in clear: category, image source, the approving officer, and the derived
    flags the authorisation rules and the published report count. `age_band` is the band believed when
    the entry was listed (from the date of birth when one was given): a watchlist is listed before its
    deployment, so a child is never counted older than they are on the day."""

    category: Category
    image_source: ImageSource
    approved_by: str
    age_band: AgeBand
    # A flag, not a description: Form 1 must declare it (legal advice) and the report counts it.
    disability: bool = False

    def is_under(self, years: int) -> bool:
        """Whether the person was believed under `years` old (13 or 18) when listed."""
        if years == 13:
            return self.age_band == AgeBand.UNDER_13
        if years == 18:
            return self.age_band in (AgeBand.UNDER_13, AgeBand.AGE_13_TO_17)
        raise ValueError("age bands answer for 13 and 18 only")


@dataclass(frozen=True, kw_only=True)
class PersonalDetails:
    """Sealed under the deployment's watchlist_media key; only a SealedRef reaches the event."""

    reason: str
    category_other: str | None = None
    image_source_other: str | None = None
    date_of_birth: date | None = None


@dataclass(frozen=True, kw_only=True)
class SealedRef:
    """Where sealed bytes are (a blob id under the deployment's watchlist_media prefix) and the SHA-256
    of the sealed bytes, so oversight can tie a blob to its event without reading it."""

    blob_id: str
    sha256: str


@dataclass(frozen=True, kw_only=True)
class EntryDetails:
    """An entry as submitted: validated whole, then split into facts and sealed personal details."""

    category: Category
    reason: str
    image_source: ImageSource
    approved_by: str
    category_other: str | None = None
    image_source_other: str | None = None
    date_of_birth: date | None = None
    age_band: AgeBand | None = None
    disability: bool = False

    def validate(self, today: date) -> None:
        def refuse(code: str, message: str) -> DomainRuleViolation:
            return DomainRuleViolation(message, code=code)

        if not self.reason.strip():
            raise refuse("reason_required", "an entry records why the person is on this watchlist")
        if self.category == Category.OTHER and not (self.category_other or "").strip():
            raise refuse("category_detail_required", "category 'other' needs a description")
        if self.image_source == ImageSource.OTHER and not (self.image_source_other or "").strip():
            raise refuse("image_source_detail_required", "image source 'other' needs a description")
        if not self.approved_by.strip():
            raise refuse("approver_required", "an entry names the person who approved inclusion")
        if self.date_of_birth is None and self.age_band is None:
            raise refuse("age_evidence_required", "give a date of birth or an age band")
        if self.date_of_birth is not None and self.age_band is not None:
            raise refuse("age_evidence_ambiguous", "give a date of birth or an age band, not both")
        if self.date_of_birth is not None and self.date_of_birth > today:
            raise refuse("date_of_birth_in_future", "the date of birth is in the future")

    def facts(self, listed_on: date) -> EntryFacts:
        band = self.age_band if self.date_of_birth is None else age_band_on(self.date_of_birth, listed_on)
        assert band is not None, "validate() requires a date of birth or an age band"
        return EntryFacts(category=self.category, image_source=self.image_source,
                          approved_by=self.approved_by, age_band=band, disability=self.disability)

    def personal(self) -> PersonalDetails:
        return PersonalDetails(reason=self.reason, category_other=self.category_other,
                               image_source_other=self.image_source_other, date_of_birth=self.date_of_birth)

    def was_child_on(self, taken_on: date) -> bool:
        if self.date_of_birth is not None:
            return age_on(self.date_of_birth, taken_on) < 18
        # A child now was a child when any earlier photo was taken.
        return self.age_band in (AgeBand.UNDER_13, AgeBand.AGE_13_TO_17)


@dataclass(frozen=True, kw_only=True)
class EntryImage:
    image_blob_id: str
    template_blob_id: str
    taken_on: date


@dataclass(frozen=True, kw_only=True)
class EntryWarning:
    code: str
    message: str
    image_index: int | None = None


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def age_band_on(born: date, on: date) -> AgeBand:
    age = age_on(born, on)
    return AgeBand.UNDER_13 if age < 13 else AgeBand.AGE_13_TO_17 if age < 18 else AgeBand.ADULT


def years_before(on: date, years: int) -> date:
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February
        return on.replace(year=on.year - years, day=28)
