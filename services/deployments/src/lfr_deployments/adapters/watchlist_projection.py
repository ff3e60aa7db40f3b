"""The deployments service's own projection of `lfr.watchlists.events.v1`: what authorisation needs to
know about each watchlist (entries' age evidence and disability flag, revision, frozen), never images.

A projection is disposable: drop the two tables and replay the topic (or the watchlists service's
EventLog) to rebuild it. The consumer writes through the unit of work's transaction, so a row change
and the consumer's tracking row commit together (exactly-once effect).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

from lfr_platform.errors import NotFound
from lfr_platform.eventstore.ports import UnitOfWork
from lfr_platform.messaging.wire import EventMessage
from sqlalchemy import Boolean, Column, Date, Integer, MetaData, String, Table, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lfr_deployments.domain.watchlist_summary import SummaryEntry, WatchlistSummary

CONSUMER_NAME = "deployments-watchlist-summary"

metadata = MetaData()
watchlists_table = Table(
    "watchlist_summaries",
    metadata,
    Column("watchlist_id", String(128), primary_key=True),
    Column("deployment_id", String(128), nullable=False),
    Column("revision", Integer, nullable=False, default=0),
    Column("frozen", Boolean, nullable=False, default=False),
    Column("purged", Boolean, nullable=False, default=False),
)
entries_table = Table(
    "watchlist_summary_entries",
    metadata,
    Column("watchlist_id", String(128), primary_key=True),
    Column("entry_id", String(128), primary_key=True),
    Column("date_of_birth", Date, nullable=True),
    Column("age_band", String(16), nullable=True),  # under_13 | 13_to_17 | 18_plus
    Column("disability", Boolean, nullable=False, default=False),
)

_UNDER_18_BANDS = {"under_13", "13_to_17"}


def age_on(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def is_under(years: int, on: date, date_of_birth: date | None, age_band: str | None) -> bool:
    """The watchlists service's rule, restated: a date of birth wins; otherwise the believed age band."""
    if date_of_birth is not None:
        return age_on(date_of_birth, on) < years
    return age_band == "under_13" if years == 13 else age_band in _UNDER_18_BANDS


class SqlWatchlistSummaries:
    """Implements the WatchlistSummaries port over the projection tables."""

    def __init__(self, engine: AsyncEngine, read_engine: AsyncEngine | None = None) -> None:
        self._engine = engine
        # Reads use the read-only engine: authorisation reads a summary inside its own write
        # transaction, and on SQLite a second writer connection would wait for that very lock.
        self._read_engine = read_engine or engine

    async def create_tables(self) -> None:
        """Idempotent; runs at start after the event store's migration."""
        async with self._engine.begin() as connection:
            await connection.run_sync(metadata.create_all)

    async def summary(self, watchlist_id: str, on: date) -> WatchlistSummary:
        async with self._read_engine.connect() as connection:
            head = (await connection.execute(
                select(watchlists_table).where(watchlists_table.c.watchlist_id == watchlist_id)
            )).mappings().first()
            if head is None or head["purged"]:
                raise NotFound(f"watchlist {watchlist_id!r} is not known to the deployments service",
                               code="watchlist_not_found", details={"watchlist_id": watchlist_id})
            rows = (await connection.execute(
                select(entries_table).where(entries_table.c.watchlist_id == watchlist_id)
                .order_by(entries_table.c.entry_id)
            )).mappings().all()
        entries = tuple(
            SummaryEntry(
                entry_id=row["entry_id"],
                under_18=is_under(18, on, row["date_of_birth"], row["age_band"]),
                under_13=is_under(13, on, row["date_of_birth"], row["age_band"]),
                disability=bool(row["disability"]),
            )
            for row in rows
        )
        return WatchlistSummary(watchlist_id=watchlist_id, deployment_id=head["deployment_id"],
                                version=int(head["revision"]), entries=entries, frozen=bool(head["frozen"]))


Apply = Callable[[AsyncConnection, str, dict[str, Any]], Awaitable[None]]


async def _created(conn: AsyncConnection, wid: str, data: dict[str, Any]) -> None:
    await conn.execute(delete(entries_table).where(entries_table.c.watchlist_id == wid))
    await conn.execute(delete(watchlists_table).where(watchlists_table.c.watchlist_id == wid))
    await conn.execute(insert(watchlists_table).values(
        watchlist_id=wid, deployment_id=data["deployment_id"], revision=0, frozen=False, purged=False))


async def _entry_added(conn: AsyncConnection, wid: str, data: dict[str, Any]) -> None:
    details = data["details"]
    born = details.get("date_of_birth")
    await conn.execute(delete(entries_table).where(
        entries_table.c.watchlist_id == wid, entries_table.c.entry_id == data["entry_id"]))
    await conn.execute(insert(entries_table).values(
        watchlist_id=wid, entry_id=data["entry_id"],
        date_of_birth=date.fromisoformat(born) if born else None,
        age_band=details.get("age_band"), disability=bool(details.get("disability", False))))
    await _set(conn, wid, revision=int(data["revision"]))


async def _entry_removed(conn: AsyncConnection, wid: str, data: dict[str, Any]) -> None:
    await conn.execute(delete(entries_table).where(
        entries_table.c.watchlist_id == wid, entries_table.c.entry_id == data["entry_id"]))
    await _set(conn, wid, revision=int(data["revision"]))


async def _frozen(conn: AsyncConnection, wid: str, data: dict[str, Any]) -> None:
    await _set(conn, wid, frozen=True, revision=int(data["revision"]))


async def _reopened(conn: AsyncConnection, wid: str, _data: dict[str, Any]) -> None:
    await _set(conn, wid, frozen=False)


async def _purged(conn: AsyncConnection, wid: str, _data: dict[str, Any]) -> None:
    await conn.execute(delete(entries_table).where(entries_table.c.watchlist_id == wid))
    await _set(conn, wid, purged=True, frozen=False)


async def _set(conn: AsyncConnection, wid: str, **values: Any) -> None:
    table = watchlists_table
    await conn.execute(update(table).where(table.c.watchlist_id == wid).values(**values))


APPLY: dict[str, Apply] = {
    "WatchlistCreated": _created,
    "WatchlistEntryAdded": _entry_added,
    "WatchlistEntryRemoved": _entry_removed,
    "WatchlistFrozen": _frozen,
    "WatchlistReopened": _reopened,
    "WatchlistPurged": _purged,
}


async def on_watchlist_event(uow: UnitOfWork, message: EventMessage) -> None:
    """The tracked consumer's handler: event types it does not need (e.g. refusals) change nothing."""
    apply = APPLY.get(message.event_type)
    if apply is not None:
        await apply(uow.connection, message.stream_id, dict(message.data))
