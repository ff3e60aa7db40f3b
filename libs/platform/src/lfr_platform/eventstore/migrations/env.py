"""Alembic environment: always handed a live connection by `upgrade_to_head` (no alembic.ini, no URL)."""

from __future__ import annotations

from alembic import context

from lfr_platform.eventstore.migrations import VERSION_TABLE

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the event store migrations through SqlEventDatabase.migrate()")

context.configure(connection=connection, version_table=VERSION_TABLE, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
