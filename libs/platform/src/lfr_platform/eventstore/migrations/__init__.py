"""Alembic migrations of the event store's own tables, run programmatically by `SqlEventDatabase.migrate`.

The version table is `lfr_eventstore_version`, so a service may keep its own Alembic history for its
read-model tables in the same database without the two colliding.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

MIGRATIONS_DIR = Path(__file__).parent
VERSION_TABLE = "lfr_eventstore_version"


def upgrade_to_head(connection: Connection) -> None:
    """Run on a synchronous connection (inside `AsyncConnection.run_sync`) already in a transaction."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
