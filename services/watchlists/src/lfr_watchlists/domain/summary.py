"""The summary the authorising officer's decision is checked against: composition, size, revision."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

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


def summarise(watchlist: Watchlist, on: date) -> WatchlistSummary:
    """Ages are computed at `on` (the deployment date), so a 12-year-old who turns 13 before the
    deployment counts as under 18, not under 13."""
    return WatchlistSummary(
        watchlist_id=watchlist.id,
        deployment_id=watchlist.deployment_id,
        version=watchlist.revision,
        frozen=watchlist.frozen,
        entries=tuple(
            SummaryEntry(
                entry_id=e.entry_id,
                under_18=e.details.is_under(18, on),
                under_13=e.details.is_under(13, on),
                disability=e.details.disability,
            )
            for e in sorted(watchlist.entries.values(), key=lambda e: e.entry_id)
        ),
    )
