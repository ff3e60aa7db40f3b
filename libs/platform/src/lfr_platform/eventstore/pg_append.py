"""PostgreSQL append in one statement: probe, insert the events and their outbox rows together.

Appends hold the store's write lock until commit, so every round trip inside it costs throughput.
This statement replaces three (probe, insert events, insert outbox): it checks the stream's version and
the event ids, and inserts only when both are as expected. It must run *after* the lock statement, so
its snapshot includes every append committed before ours.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import TextClause, text
from sqlalchemy.ext.asyncio import AsyncConnection

from lfr_platform.eventstore.model import NewEvent

_STATE_AND_INSERT = """
WITH state AS (
    SELECT
        (SELECT coalesce(max(position), 0) FROM events) AS last_position,
        (SELECT coalesce(max(version), 0) FROM events WHERE stream_id = CAST(:stream_id AS varchar))
            AS current_version,
        (SELECT event_id FROM events WHERE event_id = ANY(CAST(:event_ids AS uuid[])) LIMIT 1) AS known_id
),
written AS (
    INSERT INTO events (position, stream_id, stream_type, version, event_id, event_type, schema_version,
                        data, metadata, occurred_at, recorded_at)
    SELECT state.last_position + batch.ordinal, CAST(:stream_id AS varchar),
           CAST(:stream_type AS varchar), CAST(:expected AS integer) + batch.ordinal,
           batch.event_id, batch.event_type, batch.schema_version, batch.data::jsonb,
           batch.metadata::jsonb, batch.occurred_at, CAST(:recorded_at AS timestamptz)
    FROM state,
         unnest(CAST(:event_ids AS uuid[]), CAST(:event_types AS varchar[]),
                CAST(:schema_versions AS integer[]), CAST(:data AS text[]), CAST(:metadata AS text[]),
                CAST(:occurred_at AS timestamptz[]))
         WITH ORDINALITY AS batch(event_id, event_type, schema_version, data, metadata, occurred_at, ordinal)
    WHERE state.current_version = CAST(:expected AS integer) AND state.known_id IS NULL
    RETURNING position
)
{outbox}
SELECT last_position, current_version, known_id FROM state
"""

_OUTBOX = """, routed AS (
    INSERT INTO outbox (outbox_id, topic, message_key, published)
    SELECT position, CAST(:topic AS varchar), CAST(:stream_id AS text), false FROM written
)"""

_WITH_OUTBOX: TextClause = text(_STATE_AND_INSERT.format(outbox=_OUTBOX))
_WITHOUT_OUTBOX: TextClause = text(_STATE_AND_INSERT.format(outbox=""))


def prepare_append(
    *,
    stream_id: str,
    stream_type: str,
    expected_version: int,
    events: Sequence[NewEvent],
    occurred_at: Sequence[datetime],
    recorded_at: datetime,
    topic: str | None,
) -> tuple[TextClause, dict[str, Any]]:
    """The statement and its parameters, built before taking the lock (JSON encoding is not free)."""
    params: dict[str, Any] = {
        "stream_id": stream_id,
        "stream_type": stream_type,
        "expected": expected_version,
        "event_ids": [e.event_id for e in events],
        "event_types": [e.event_type for e in events],
        "schema_versions": [e.schema_version for e in events],
        "data": [json.dumps(dict(e.data)) for e in events],
        "metadata": [json.dumps(e.metadata.as_dict()) for e in events],
        "occurred_at": list(occurred_at),
        "recorded_at": recorded_at,
    }
    if topic is None:
        return _WITHOUT_OUTBOX, params
    return _WITH_OUTBOX, {**params, "topic": topic}


async def run_append(
    conn: AsyncConnection, prepared: tuple[TextClause, dict[str, Any]]
) -> tuple[int, int, UUID | None]:
    """Returns (last position before, the stream's version before, an already-known event id or None).
    Nothing was written unless the version was the expected one and no event id was known."""
    statement, params = prepared
    last_position, current_version, known_id = (await conn.execute(statement, params)).one()
    return int(last_position), int(current_version), known_id
