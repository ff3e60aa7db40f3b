"""What authorisation needs to know about a watchlist: composition, size and version (no biometrics).

The deployments service's own view of the watchlists service's `summary()` query (mapped by an
adapter), so the two services can evolve their internals separately.
"""

from __future__ import annotations

from dataclasses import dataclass


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
    version: int  # content revision: changes whenever an entry is added or removed
    entries: tuple[SummaryEntry, ...]
    frozen: bool = False

    @property
    def size(self) -> int:
        return len(self.entries)
