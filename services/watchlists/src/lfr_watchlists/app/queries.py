"""Read side: rehydrate streams (a projection table can replace this later). No biometrics here."""

from __future__ import annotations

from dataclasses import dataclass

from lfr_platform.errors import NotFound
from lfr_platform.eventstore import EventStore

from lfr_watchlists.app.handlers import REPOSITORY
from lfr_watchlists.domain.summary import WatchlistSummary, summarise
from lfr_watchlists.domain.watchlist import Entry, Watchlist


@dataclass(frozen=True, kw_only=True)
class WatchlistView:
    watchlist_id: str
    deployment_id: str
    name: str
    revision: int
    frozen_at_revision: int | None
    purged: bool
    entries: tuple[Entry, ...]


def _view(w: Watchlist) -> WatchlistView:
    return WatchlistView(watchlist_id=w.id, deployment_id=w.deployment_id, name=w.name, revision=w.revision,
                         frozen_at_revision=w.frozen_at_revision, purged=w.purged,
                         entries=tuple(sorted(w.entries.values(), key=lambda e: e.entry_id)))


async def get_watchlist(reader: EventStore, watchlist_id: str) -> WatchlistView:
    return _view(await REPOSITORY.get(reader, watchlist_id))


async def list_watchlists(reader: EventStore, deployment_id: str | None = None) -> list[WatchlistView]:
    views = [_view(await REPOSITORY.get(reader, sid))
             for sid in await reader.list_streams(Watchlist.stream_type)]
    return [v for v in views if deployment_id is None or v.deployment_id == deployment_id]


def find_entry(view: WatchlistView, entry_id: str) -> Entry:
    entry = next((e for e in view.entries if e.entry_id == entry_id), None)
    if entry is None:
        raise NotFound(f"entry {entry_id!r} is not on watchlist {view.watchlist_id!r}",
                       code="entry_not_found")
    return entry


async def watchlist_summary(reader: EventStore, watchlist_id: str) -> WatchlistSummary:
    return summarise(await REPOSITORY.get(reader, watchlist_id))
