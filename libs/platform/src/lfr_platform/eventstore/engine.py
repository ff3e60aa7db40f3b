"""Async engines tuned for the event store on each backend.

SQLite allows one writer at a time. Its Python driver's own BEGIN is deferred, so two transactions that
read and then write deadlock on the upgrade and one fails with "database is locked". We take over
transaction control instead: every unit of work starts with BEGIN IMMEDIATE (it queues for the write
lock up front, waiting up to `busy_timeout`), while read-only connections use a plain deferred BEGIN.
WAL mode lets those readers run alongside the writer.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

# Execution option marking a connection that never writes (SQLite: deferred BEGIN).
READ_ONLY = "lfr_read_only"
SQLITE_BUSY_TIMEOUT_MS = 30_000


def normalise_url(url: str | URL) -> URL:
    """Accept plain `postgresql://` and `sqlite://` URLs and pick the async drivers."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+asyncpg")
    if backend == "sqlite":
        return parsed.set(drivername="sqlite+aiosqlite")
    raise ValueError(f"unsupported database URL {parsed.render_as_string()}: use postgresql or sqlite")


def create_engine(url: str | URL, *, echo: bool = False) -> AsyncEngine:
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_async_engine(parsed, echo=echo, pool_size=5, max_overflow=20, pool_timeout=60)
        _take_over_sqlite_transactions(engine)
        return engine
    # No pre-ping: it costs a round trip per unit of work; a connection the server dropped is
    # detected on use, invalidated, and the pool reconnects.
    return create_async_engine(parsed, echo=echo, pool_size=10, max_overflow=20, pool_recycle=1800)


def _take_over_sqlite_transactions(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Stop the driver from issuing its own (deferred) BEGIN; `_on_begin` issues ours.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        _switch_to_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        read_only = connection.get_execution_options().get(READ_ONLY, False)
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def _switch_to_wal(cursor: Any) -> None:
    """Put the file in WAL mode, retrying while another connection holds the lock.

    SQLite answers a journal-mode change that races another connection (several services creating
    the same new file at once) with an immediate "database is locked", without consulting
    busy_timeout, so the wait is ours to do. Once a file is in WAL mode the pragma is a no-op.
    """
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000
    pause = 0.005
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) and "busy" not in str(error):
                raise
            if time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)  # runs on the driver's connection thread, never the event loop
            pause = min(pause * 2, 0.25)
