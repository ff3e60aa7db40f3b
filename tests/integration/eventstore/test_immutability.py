"""Events are immutable at the database too: the application's role cannot UPDATE, DELETE or TRUNCATE
them on PostgreSQL (privileges), and a trigger refuses even the owner; on SQLite triggers refuse."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from lfr_platform.eventstore.model import EventMetadata, NewEvent
from lfr_platform.eventstore.sql import SqlEventDatabase
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

TAMPERING = [
    "UPDATE events SET data = '{\"tampered\": true}' WHERE stream_id = 'dep-1'",
    "DELETE FROM events WHERE stream_id = 'dep-1'",
    "DELETE FROM events WHERE false",
]


async def _record_one(db: SqlEventDatabase) -> None:
    async with db.unit_of_work() as uow:
        event = NewEvent(event_type="Opened", data={"n": 1}, metadata=EventMetadata(actor="a", role="r"))
        await uow.events.append("dep-1", "deployment", 0, [event])
        await uow.commit()


async def _refused(db: SqlEventDatabase, statement: str) -> str:
    async with db.engine.connect() as conn:
        with pytest.raises(DBAPIError) as caught:
            await conn.execute(text(statement))
    return str(caught.value.orig)


async def _untouched(db: SqlEventDatabase) -> None:
    (event,) = await db.reader().read_all()
    assert event.data == {"n": 1}


async def test_postgres_application_role_may_append_but_not_alter_events(
    new_postgres_database: Callable[[], str], postgres_app_role: Callable[[str], str]
) -> None:
    owner_url = new_postgres_database()
    owner = SqlEventDatabase(owner_url, router=lambda _t: "lfr.test.v1")
    await owner.migrate()
    app = SqlEventDatabase(postgres_app_role(owner_url), router=lambda _t: "lfr.test.v1")
    try:
        await app.migrate()  # services call it at start-up: at head it only reads the version
        await _record_one(app)
        await app.outbox.mark_published([r.outbox_id for r in await app.outbox.pending()])
        for statement in [*TAMPERING, "TRUNCATE events"]:
            assert "permission denied" in await _refused(app, statement)
        await _untouched(app)
    finally:
        await app.dispose()
        await owner.dispose()


async def test_postgres_trigger_refuses_even_the_owner(new_postgres_database: Callable[[], str]) -> None:
    owner = SqlEventDatabase(new_postgres_database())
    await owner.migrate()
    try:
        await _record_one(owner)
        for statement in [*TAMPERING, "TRUNCATE events"]:
            assert "events are immutable" in await _refused(owner, statement)
        await _untouched(owner)
    finally:
        await owner.dispose()


async def test_sqlite_triggers_refuse_update_and_delete(tmp_path: Path) -> None:
    db = SqlEventDatabase(f"sqlite:///{tmp_path / 'events.db'}")
    await db.migrate()
    try:
        await _record_one(db)
        for statement in TAMPERING[:2]:
            assert "events are immutable" in await _refused(db, statement)
        await _untouched(db)
    finally:
        await db.dispose()
