"""The Watchlist aggregate: built for one deployment, frozen at its authorisation, purged after it.

`revision` counts content changes (entries added or removed); the deployment pins it when authorised
and the freeze must match it, so what runs is exactly what the authorising officer approved.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from lfr_platform.aggregate import Aggregate, DomainEvent
from lfr_platform.errors import DomainRuleViolation, NotFound

from lfr_watchlists.domain import events as ev
from lfr_watchlists.domain.entry import (
    EntryDetails,
    EntryFacts,
    EntryImage,
    EntryWarning,
    PersonalDetails,
    SealedRef,
    years_before,
)


@dataclass(frozen=True, kw_only=True)
class WatchlistPolicy:
    # Cosine similarity at or above which a new image is taken to show someone already enrolled.
    duplicate_similarity: float = 0.80
    # Images of children older than this match poorly (source: the force's equality impact assessment).
    child_image_max_age_years: int = 5


@dataclass(frozen=True, kw_only=True)
class NearestEntry:
    """The most similar enrolled entry to a new image's template (found by the TemplateIndex)."""

    entry_id: str
    similarity: float


@dataclass(frozen=True, kw_only=True)
class Entry:
    entry_id: str
    details: EntryFacts
    sealed_details: SealedRef | None
    images: tuple[EntryImage, ...]
    warnings: tuple[EntryWarning, ...]
    model_version: str = ""
    legacy_details: PersonalDetails | None = None  # recorded in clear before details were sealed

    @property
    def blob_ids(self) -> tuple[str, ...]:
        media = tuple(b for i in self.images for b in (i.image_blob_id, i.template_blob_id))
        return media + ((self.sealed_details.blob_id,) if self.sealed_details else ())


def _refuse(code: str, message: str, **details: Any) -> DomainRuleViolation:
    return DomainRuleViolation(message, code=code, details=details)


class Watchlist(Aggregate):
    stream_type = "watchlist"

    def _init_state(self) -> None:
        self.deployment_id = ""
        self.name = ""
        self.entries: dict[str, Entry] = {}
        self.revision = 0
        self.frozen_at_revision: int | None = None
        self.purged = False

    @property
    def frozen(self) -> bool:
        return self.frozen_at_revision is not None

    @classmethod
    def create(cls, watchlist_id: str, deployment_id: str, name: str, *, actor: str, role: str,
               at: datetime) -> Watchlist:
        if not deployment_id.strip():
            raise _refuse("deployment_required", "a watchlist is created for one deployment")
        watchlist = cls(watchlist_id)
        watchlist._trigger(ev.WatchlistCreated, actor=actor, role=role, at=at, deployment_id=deployment_id,
                           name=name)
        return watchlist

    # ----- entries ----------------------------------------------------------------------------
    def check_new_entry(
        self, entry_id: str, details: EntryDetails, taken_on: Sequence[date],
        nearest: NearestEntry | None, policy: WatchlistPolicy, today: date,
    ) -> tuple[EntryWarning, ...]:
        """Every rule for a new entry; the handler calls it before enrolling and storing images."""
        self.require_changeable()
        if entry_id in self.entries:
            raise _refuse("entry_exists", f"entry {entry_id!r} is already on the watchlist")
        details.validate(today)
        if not taken_on:
            raise _refuse("images_required", "an entry has at least one image")
        for index, taken in enumerate(taken_on):
            if taken > today:
                raise _refuse("image_date_in_future", "an image cannot be taken in the future",
                              image_index=index)
            if details.date_of_birth is not None and taken < details.date_of_birth:
                raise _refuse("image_before_birth", "an image cannot predate the date of birth",
                              image_index=index)
        if nearest is not None and nearest.similarity >= policy.duplicate_similarity \
                and nearest.entry_id in self.entries:
            raise _refuse("duplicate_subject",
                          f"this person appears to be enrolled already as entry {nearest.entry_id}",
                          entry_id=nearest.entry_id, similarity=round(nearest.similarity, 4))
        return self._warnings(details, taken_on, policy, today)

    def add_entry(
        self, entry_id: str, details: EntryDetails, images: tuple[EntryImage, ...],
        nearest: NearestEntry | None, policy: WatchlistPolicy, *, sealed: SealedRef, actor: str, role: str,
        at: datetime, model_version: str = "",
    ) -> tuple[EntryWarning, ...]:
        """`sealed` refers to `details.personal()` sealed by the caller: every rule runs on the full
        details here, and only their facts and that reference go into the event."""
        warnings = self.check_new_entry(entry_id, details, [i.taken_on for i in images], nearest, policy,
                                        at.date())
        self._trigger(ev.WatchlistEntryAdded, actor=actor, role=role, at=at, entry_id=entry_id,
                      details=details.facts(at.date()), sealed_details=sealed, images=images,
                      warnings=warnings, revision=self.revision + 1, model_version=model_version)
        return warnings

    def remove_entry(self, entry_id: str, reason: str, *, actor: str, role: str, at: datetime) -> None:
        self.require_changeable()
        entry = self.entries.get(entry_id)
        if entry is None:
            raise NotFound(f"entry {entry_id!r} is not on watchlist {self.id!r}")
        if not reason.strip():
            raise _refuse("removal_reason_required", "a removal records its reason")
        self._trigger(ev.WatchlistEntryRemoved, actor=actor, role=role, at=at, entry_id=entry_id,
                      reason=reason, blob_ids=entry.blob_ids, revision=self.revision + 1)

    # ----- freezing and retention -------------------------------------------------------------
    def freeze(self, deployment_id: str, revision: int, *, actor: str, role: str, at: datetime) -> None:
        """At authorisation. A redelivered freeze for the same revision changes nothing."""
        self._require_not_purged()
        if deployment_id != self.deployment_id:
            raise _refuse("watchlist_not_for_deployment", "the watchlist belongs to another deployment",
                          watchlist_deployment_id=self.deployment_id)
        if self.frozen_at_revision == revision:
            return
        if revision != self.revision:
            raise _refuse("watchlist_version_mismatch",
                          f"authorised revision {revision}, but the watchlist is at {self.revision}",
                          authorised=revision, current=self.revision)
        self._trigger(ev.WatchlistFrozen, actor=actor, role=role, at=at, deployment_id=deployment_id,
                      revision=revision)

    def record_freeze_refused(self, deployment_id: str, revision: int, refusal: DomainRuleViolation, *,
                              actor: str, role: str, at: datetime) -> None:
        """Keep the refusal of an authorisation-driven freeze in the stream (it changes no state)."""
        self._trigger(ev.WatchlistFreezeRefused, actor=actor, role=role, at=at, deployment_id=deployment_id,
                      authorised_revision=revision, current_revision=self.revision, code=refusal.code,
                      message=refusal.message)

    def reopen(self, reason: str, *, actor: str, role: str, at: datetime) -> None:
        """When the deployment's authorisation lapses; a no-op when not frozen (redelivery)."""
        self._require_not_purged()
        if self.frozen:
            self._trigger(ev.WatchlistReopened, actor=actor, role=role, at=at, reason=reason)

    def purge(self, reason: str, *, actor: str, role: str, at: datetime) -> None:
        self._require_not_purged()
        if not reason.strip():
            raise _refuse("purge_reason_required", "a purge records the retention rule applied")
        blob_ids = tuple(b for e in self.entries.values() for b in e.blob_ids)
        self._trigger(ev.WatchlistPurged, actor=actor, role=role, at=at, reason=reason, blob_ids=blob_ids)

    def require_changeable(self) -> None:
        self._require_not_purged()
        if self.frozen:
            raise _refuse("watchlist_frozen",
                          "the watchlist is frozen by its deployment's authorisation; changes need "
                          "re-authorisation", frozen_at_revision=self.frozen_at_revision)

    def _require_not_purged(self) -> None:
        if self.purged:
            raise _refuse("watchlist_purged", "the watchlist was deleted under the retention policy")

    def _warnings(self, details: EntryDetails, taken_on: Sequence[date], policy: WatchlistPolicy,
                  today: date) -> tuple[EntryWarning, ...]:
        cutoff = years_before(today, policy.child_image_max_age_years)
        return tuple(
            EntryWarning(code="child_image_older_than_5_years", image_index=index,
                         message=f"image {index} shows a child and was taken over "
                                 f"{policy.child_image_max_age_years} years ago: matches poorly")
            for index, taken in enumerate(taken_on)
            if taken < cutoff and details.was_child_on(taken)
        )

    # ----- state transitions (pure) -----------------------------------------------------------
    def _apply(self, event: DomainEvent) -> None:
        match event:
            case ev.WatchlistCreated(deployment_id=deployment_id, name=name):
                self.deployment_id, self.name = deployment_id, name
            case ev.WatchlistEntryAdded(entry_id=entry_id, revision=revision):
                self.entries[entry_id] = Entry(
                    entry_id=entry_id, details=event.details, sealed_details=event.sealed_details,
                    images=event.images, warnings=event.warnings, model_version=event.model_version,
                    legacy_details=event.legacy_details)
                self.revision = revision
            case ev.WatchlistEntryRemoved(entry_id=entry_id, revision=revision):
                del self.entries[entry_id]
                self.revision = revision
            case ev.WatchlistFrozen(revision=revision):
                self.frozen_at_revision = revision
            case ev.WatchlistFreezeRefused():
                pass
            case ev.WatchlistReopened():
                self.frozen_at_revision = None
            case ev.WatchlistPurged():
                self.entries = {}
                self.purged = True
            case _:
                raise TypeError(f"Watchlist cannot apply {type(event).__name__}")
