"""Commands: imperative requests, each carrying who asks (actor, role) for the audit trail."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from lfr_watchlists.domain.entry import EntryDetails


@dataclass(frozen=True, kw_only=True)
class Command:
    actor: str
    role: str
    correlation_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class CreateWatchlist(Command):
    watchlist_id: str
    deployment_id: str
    name: str


@dataclass(frozen=True, kw_only=True)
class UploadedImage:
    """An image as uploaded. The bytes go to enrolment and the encrypted vault, never into an event."""

    content: bytes = field(repr=False)
    taken_on: date


@dataclass(frozen=True, kw_only=True)
class AddWatchlistEntry(Command):
    watchlist_id: str
    entry_id: str
    details: EntryDetails
    images: tuple[UploadedImage, ...]


@dataclass(frozen=True, kw_only=True)
class RemoveWatchlistEntry(Command):
    watchlist_id: str
    entry_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class FreezeWatchlist(Command):
    """Sent on DeploymentAuthorised: freezes the watchlist at the revision the officer authorised."""

    watchlist_id: str
    deployment_id: str
    revision: int


@dataclass(frozen=True, kw_only=True)
class ReopenWatchlist(Command):
    """Sent on AuthorisationLapsed: the deployment must be authorised again, so changes may resume."""

    watchlist_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class PurgeWatchlist(Command):
    """Sent by retention after the deployment: entries go, blob ids are listed for deletion."""

    watchlist_id: str
    reason: str
