"""Event store append throughput on PostgreSQL and SQLite (`lfr bench eventstore --json`).

Batched: each unit of work appends `batch` events to a fresh stream (many streams, as services do when
many aggregates change). Unbatched: one event per unit of work, the worst case. Both write outbox rows,
as routed streams do in production. A few writers run at once, each on its own streams, so network
round trips overlap while appends still serialise on the store's write lock.
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from lfr_platform.eventstore.database import ensure_database
from lfr_platform.eventstore.engine import normalise_url
from lfr_platform.eventstore.model import EventMetadata, NewEvent
from lfr_platform.eventstore.sql import SqlEventDatabase

WRITERS = 4
UNBATCHED_EVENTS_MAX = 1000
_META = EventMetadata(actor="bench", role="admin", correlation_id="bench")


def _event(index: int) -> NewEvent:
    return NewEvent(
        event_type="BenchmarkEventRecorded",
        data={"index": index, "camera": "cam-1", "score": 0.42, "note": "x" * 64},
        metadata=_META,
    )


async def _append_batches(db: SqlEventDatabase, writer: int, appends: int, size: int) -> None:
    for number in range(appends):
        async with db.unit_of_work() as uow:
            events = [_event(i) for i in range(size)]
            await uow.events.append(f"bench-{writer}-{number}", "bench", 0, events)
            await uow.commit()


async def _append_singly(db: SqlEventDatabase, writer: int, appends: int) -> None:
    versions: dict[str, int] = {}
    for number in range(appends):
        stream = f"single-{writer}-{number % 50}"
        async with db.unit_of_work() as uow:
            version = versions.get(stream, 0)
            await uow.events.append(stream, "bench", version, [_event(number)])
            await uow.commit()
        versions[stream] = version + 1


async def _rate(total_events: int, jobs: list[Any]) -> tuple[float, float]:
    started = time.perf_counter()
    await asyncio.gather(*jobs)
    elapsed = time.perf_counter() - started
    return round(total_events / elapsed, 1), round(elapsed, 3)


async def _measure(url: str, events: int, batch: int) -> dict[str, Any]:
    db = SqlEventDatabase(url, router=lambda _stream_type: "lfr.bench.events.v1")
    try:
        await db.migrate()
        per_writer = max(1, events // batch // WRITERS)
        batched_events = per_writer * WRITERS * batch
        batched_rate, batched_s = await _rate(
            batched_events, [_append_batches(db, w, per_writer, batch) for w in range(WRITERS)]
        )
        singles_per_writer = max(1, min(events, UNBATCHED_EVENTS_MAX) // WRITERS)
        unbatched_events = singles_per_writer * WRITERS
        unbatched_rate, unbatched_s = await _rate(
            unbatched_events, [_append_singly(db, w, singles_per_writer) for w in range(WRITERS)]
        )
        stored = await db.reader().last_position()
    finally:
        await db.dispose()
    assert stored == batched_events + unbatched_events, "the benchmark lost events"
    return {
        "appends_per_s": batched_rate,
        "batch": batch,
        "events": batched_events,
        "seconds": batched_s,
        "unbatched_appends_per_s": unbatched_rate,
        "unbatched_events": unbatched_events,
        "unbatched_seconds": unbatched_s,
        "writers": WRITERS,
    }


async def _drop_database(url: str) -> None:
    parsed = normalise_url(url)
    maintenance = parsed.set(database="postgres")
    engine = create_async_engine(maintenance, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        async with engine.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)'))
    finally:
        await engine.dispose()


async def _measure_postgres(server_url: str, events: int, batch: int) -> dict[str, Any]:
    url = make_url(server_url).set(database=f"lfr_bench_{uuid.uuid4().hex[:10]}")
    url_text = url.render_as_string(hide_password=False)
    try:
        await ensure_database(url_text)
    except Exception as err:  # an unreachable server is a result to report, not a crash
        return {"skipped": f"PostgreSQL unreachable: {type(err).__name__}: {err}"[:300]}
    try:
        result = await _measure(url_text, events, batch)
    finally:
        await _drop_database(url_text)
    server = url.host or url.query.get("host") or "local socket"
    return {**result, "server": str(server)}


async def run_eventstore_bench(
    postgres_url: str | None, sqlite_path: Path, events: int = 20000, batch: int = 100
) -> dict[str, Any]:
    """Appended events per second on each backend. `postgres_url` names a server (any database on it);
    the benchmark uses a throw-away database there. None skips PostgreSQL."""
    postgres: dict[str, Any] = (
        await _measure_postgres(postgres_url, events, batch)
        if postgres_url
        else {"skipped": "no PostgreSQL URL given"}
    )
    sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    sqlite = await _measure(f"sqlite+aiosqlite:///{sqlite_path}", events, batch)
    # Other work on the machine slows every round trip; the load average says how much there was.
    return {"postgresql": postgres, "sqlite": sqlite, "load_average_1m": round(os.getloadavg()[0], 2)}
