"""Create events, outbox and processed_events; make events immutable at the database.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_json = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

_PG_IMMUTABLE = [
    """
    CREATE FUNCTION lfr_events_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'events are immutable' USING ERRCODE = 'insufficient_privilege';
    END
    $$
    """,
    # Statement-level, so even an UPDATE or DELETE that matches no row is refused, for every role.
    """
    CREATE TRIGGER events_immutable BEFORE UPDATE OR DELETE OR TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION lfr_events_immutable()
    """,
    "REVOKE UPDATE, DELETE, TRUNCATE ON events FROM PUBLIC",
]

_SQLITE_IMMUTABLE = [
    """
    CREATE TRIGGER events_no_update BEFORE UPDATE ON events
    BEGIN SELECT RAISE(ABORT, 'events are immutable'); END
    """,
    """
    CREATE TRIGGER events_no_delete BEFORE DELETE ON events
    BEGIN SELECT RAISE(ABORT, 'events are immutable'); END
    """,
]


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("position", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("stream_type", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("event_id", sa.Uuid, nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("data", _json, nullable=False),
        sa.Column("metadata", _json, nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
    )
    op.create_index("ix_events_stream_type_position", "events", ["stream_type", "position"])
    op.create_table(
        "outbox",
        sa.Column("outbox_id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("topic", sa.String(250), nullable=False),
        sa.Column("message_key", sa.Text, nullable=False),
        sa.Column("published", sa.Boolean, nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_outbox_published_outbox_id", "outbox", ["published", "outbox_id"])
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.Uuid, primary_key=True),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
    )
    dialect = op.get_bind().dialect.name
    for statement in _PG_IMMUTABLE if dialect == "postgresql" else _SQLITE_IMMUTABLE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS events_immutable ON events")
        op.execute("DROP FUNCTION IF EXISTS lfr_events_immutable()")
    op.drop_table("processed_events")
    op.drop_table("outbox")
    op.drop_table("events")
