"""One database per service: where it lives, and creating it on PostgreSQL when missing."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
from lfr_platform.eventstore.database import database_url_for, ensure_database
from lfr_platform.eventstore.sql import SqlEventDatabase
from sqlalchemy.engine import make_url


def test_embedded_default_is_one_sqlite_file_per_service(tmp_path: Path) -> None:
    assert database_url_for("audit", None, tmp_path) == f"sqlite+aiosqlite:///{tmp_path}/audit.db"
    assert database_url_for("alerts", "sqlite:////srv/lfr", tmp_path) == "sqlite+aiosqlite:////srv/lfr/alerts.db"


def test_postgres_gives_each_service_its_own_database_on_the_same_server(tmp_path: Path) -> None:
    url = database_url_for("watchlists", "postgresql://lfr:s3cret@db.internal:5432/postgres", tmp_path)
    assert url == "postgresql+asyncpg://lfr:s3cret@db.internal:5432/lfr_watchlists"
    socket_base = "postgresql+asyncpg://postgres@/x?host=/run/pg"
    socket_url = make_url(database_url_for("audit", socket_base, tmp_path))
    assert (socket_url.database, socket_url.query["host"]) == ("lfr_audit", "/run/pg")


async def test_ensure_database_creates_a_missing_database_once(postgres_url: str, tmp_path: Path) -> None:
    service = f"test_{uuid.uuid4().hex[:10]}"
    url = database_url_for(service, postgres_url, tmp_path)
    admin_dsn = make_url(postgres_url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        await asyncio.gather(ensure_database(url), ensure_database(url), ensure_database(url))
        db = SqlEventDatabase(url)
        try:
            await db.migrate()
            await db.ping()
        finally:
            await db.dispose()
    finally:
        conn = await asyncpg.connect(admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "lfr_{service}" WITH (FORCE)')
        finally:
            await conn.close()


async def test_ensure_database_leaves_sqlite_alone(tmp_path: Path) -> None:
    url = database_url_for("ingest", None, tmp_path / "data")
    await ensure_database(url)
    db = SqlEventDatabase(url)
    try:
        await db.migrate()  # creates the data directory and the file
    finally:
        await db.dispose()
    assert (tmp_path / "data" / "ingest.db").exists()
