"""Where each service's event database lives: one SQLite file or one PostgreSQL database per service."""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from lfr_platform.eventstore.engine import normalise_url

_MAINTENANCE_DATABASE = "postgres"


def _safe_name(service: str) -> str:
    name = re.sub(r"[^a-z0-9_]", "_", service.lower())
    if not name:
        raise ValueError(f"service name {service!r} gives no database name")
    return name


def database_url_for(service: str, base_url: str | None, data_dir: Path) -> str:
    """The URL of `service`'s own database.

    * no base URL: SQLite file `<data_dir>/<service>.db` (the embedded default);
    * a SQLite URL: its path is a directory holding `<service>.db` (no path: `data_dir`);
    * a PostgreSQL URL: database `lfr_<service>` on the same server, same credentials.
    """
    name = _safe_name(service)
    if base_url is None:
        return _sqlite_url(data_dir / f"{name}.db")
    parsed = normalise_url(base_url)
    if parsed.get_backend_name() == "sqlite":
        directory = Path(parsed.database) if parsed.database not in (None, "", ":memory:") else data_dir
        return _sqlite_url(directory / f"{name}.db")
    return parsed.set(database=f"lfr_{name}").render_as_string(hide_password=False)


def _sqlite_url(path: Path) -> str:
    return URL.create("sqlite+aiosqlite", database=str(path.resolve())).render_as_string()


async def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named in `url` if missing (SQLite files create themselves)."""
    parsed = normalise_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    name = parsed.database
    if not name:
        raise ValueError("the PostgreSQL URL names no database")
    maintenance = create_async_engine(
        parsed.set(database=_MAINTENANCE_DATABASE), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        async with maintenance.connect() as conn:
            exists = text("SELECT 1 FROM pg_database WHERE datname = :n").bindparams(n=name)
            if await conn.scalar(exists):
                return
            quoted = conn.dialect.identifier_preparer.quote_identifier(name)
            try:
                await conn.execute(text(f"CREATE DATABASE {quoted}"))
            except DBAPIError:
                # Several services start at once: if another one created it meanwhile, that is fine.
                if not await conn.scalar(exists):
                    raise
    finally:
        await maintenance.dispose()
