"""Watchlist events: blob ids and non-biometric facts only, never image bytes or templates."""

from __future__ import annotations

from dataclasses import dataclass

from lfr_platform.aggregate import DomainEvent, EventRegistry

from lfr_watchlists.domain.entry import EntryDetails, EntryImage, EntryWarning


@dataclass(frozen=True, kw_only=True)
class WatchlistCreated(DomainEvent):
    deployment_id: str
    name: str


@dataclass(frozen=True, kw_only=True)
class WatchlistEntryAdded(DomainEvent):
    entry_id: str
    details: EntryDetails
    images: tuple[EntryImage, ...]
    warnings: tuple[EntryWarning, ...] = ()
    revision: int
    # Which embedding model made the templates: a gallery is only usable by the same model.
    model_version: str = ""


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
