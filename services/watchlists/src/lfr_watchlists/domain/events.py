"""Watchlist events: blob ids and non-biometric facts only, never image bytes or templates, and no
personal details in clear (they are sealed; see domain/entry.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from types import MappingProxyType
from typing import Any, ClassVar

from lfr_platform.aggregate import DomainEvent, EventRegistry, Upcaster

from lfr_watchlists.domain.entry import (
    EntryFacts,
    EntryImage,
    EntryWarning,
    PersonalDetails,
    SealedRef,
    age_band_on,
)


@dataclass(frozen=True, kw_only=True)
class WatchlistCreated(DomainEvent):
    deployment_id: str
    name: str


def _entry_added_v1_to_v2(fields: dict[str, Any]) -> dict[str, Any]:
    """Schema 1 held every detail in clear in `details`. Those events stay as written (history is not
    rewritten), so their personal details stay readable as `legacy_details`; the facts get the age band
    the person had when listed, exactly what schema 2 records."""
    old = dict(fields.pop("details"))
    born = old.get("date_of_birth")
    listed_on = fields["occurred_at"].date()
    band = age_band_on(date.fromisoformat(str(born)), listed_on) if born else old.get("age_band")
    facts = {k: old.get(k) for k in ("category", "image_source", "approved_by")}
    personal = {k: old.get(k) for k in ("reason", "category_other", "image_source_other", "date_of_birth")}
    return {**fields, "details": {**facts, "age_band": band, "disability": bool(old.get("disability"))},
            "sealed_details": None, "legacy_details": personal}


@dataclass(frozen=True, kw_only=True)
class WatchlistEntryAdded(DomainEvent):
    """Schema 2: `details` are the facts in clear, `sealed_details` refers to the sealed personal details.
    Schema 1 (every detail in clear) is upcast on reading."""

    schema_version: ClassVar[int] = 2
    upcasters: ClassVar[Mapping[int, Upcaster]] = MappingProxyType({1: _entry_added_v1_to_v2})

    entry_id: str
    details: EntryFacts
    sealed_details: SealedRef | None  # None only on events upcast from schema 1
    images: tuple[EntryImage, ...]
    warnings: tuple[EntryWarning, ...] = ()
    revision: int
    # Which embedding model made the templates: a gallery is only usable by the same model.
    model_version: str = ""
    # Only on events upcast from schema 1, which recorded these in clear; this code never writes it.
    legacy_details: PersonalDetails | None = None

    def payload(self) -> dict[str, Any]:
        data = super().payload()
        if data.get("legacy_details") is None:
            data.pop("legacy_details", None)
        return data


@dataclass(frozen=True, kw_only=True)
class WatchlistEntryRemoved(DomainEvent):
    entry_id: str
    reason: str
    blob_ids: tuple[str, ...]  # for retention to delete
    revision: int


@dataclass(frozen=True, kw_only=True)
class WatchlistFrozen(DomainEvent):
    deployment_id: str
    revision: int


@dataclass(frozen=True, kw_only=True)
class WatchlistFreezeRefused(DomainEvent):
    """A deployment was authorised against a revision the watchlist cannot be frozen at (it changed
    meanwhile): recorded once, so the refusal is visible in the audit trail and nothing retries it."""

    deployment_id: str
    authorised_revision: int
    current_revision: int
    code: str
    message: str


@dataclass(frozen=True, kw_only=True)
class WatchlistReopened(DomainEvent):
    reason: str


@dataclass(frozen=True, kw_only=True)
class WatchlistPurged(DomainEvent):
    reason: str
    blob_ids: tuple[str, ...]


WATCHLIST_EVENTS = EventRegistry(
    WatchlistCreated,
    WatchlistEntryAdded,
    WatchlistEntryRemoved,
    WatchlistFrozen,
    WatchlistFreezeRefused,
    WatchlistReopened,
    WatchlistPurged,
)
