"""The summary the authorising officer's decision is checked against: composition, size, revision."""

from __future__ import annotations

from dataclasses import dataclass

from lfr_watchlists.domain.watchlist import Watchlist


@dataclass(frozen=True, kw_only=True)
class SummaryEntry:
    entry_id: str
    under_18: bool
    under_13: bool
    disability: bool


@dataclass(frozen=True, kw_only=True)
class WatchlistSummary:
    watchlist_id: str
    deployment_id: str
    version: int
    entries: tuple[SummaryEntry, ...]
    frozen: bool

    @property
    def size(self) -> int:
        return len(self.entries)


def summarise(watchlist: Watchlist) -> WatchlistSummary:
    """Ages are the bands believed when each entry was listed (the events hold no date of birth); the
    deployment comes after the listing, so a child is never counted older than on the day."""
    return WatchlistSummary(
        watchlist_id=watchlist.id,
        deployment_id=watchlist.deployment_id,
        version=watchlist.revision,
        frozen=watchlist.frozen,
        entries=tuple(
            SummaryEntry(
                entry_id=e.entry_id,
                under_18=e.details.is_under(18),
                under_13=e.details.is_under(13),
                disability=e.details.disability,
            )
            for e in sorted(watchlist.entries.values(), key=lambda e: e.entry_id)
        ),
    )
