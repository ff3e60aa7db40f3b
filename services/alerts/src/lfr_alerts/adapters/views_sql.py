"""The alerts read model: one row per alert (its current view) and the suppressed tracks.

Rows are written through the unit of work's connection, in the same transaction as the events they
reflect, so a reader that sees an alert event also sees its view. Tables live in the alerts service's
own database next to its event store.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lfr_alerts.domain.alert import Alert, AlertStatus

metadata = MetaData()

alert_views = Table(
    "alert_views",
    metadata,
    Column("alert_id", String(64), primary_key=True),
    Column("deployment_id", String(128), nullable=False),
    Column("status", String(32), nullable=False),
    Column("raised_at", DateTime(timezone=True), nullable=False),
    Column("review_due_at", DateTime(timezone=True), nullable=True),
    Column("view", Text, nullable=False),
    Index("ix_alert_views_deployment_status", "deployment_id", "status"),
    Index("ix_alert_views_status_due", "status", "review_due_at"),
)

alert_suppressions = Table(
    "alert_suppressions",
    metadata,
    Column("deployment_id", String(128), primary_key=True),
    Column("track_id", String(128), primary_key=True),
    Column("entry_id", String(128), primary_key=True),
    Column("alert_id", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

COUNTED_STATUSES = [status.value for status in AlertStatus]


class SqlAlertViews:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._dialect = engine.dialect.name

    async def create_tables(self) -> None:
        async with self._engine.begin() as connection:
            await connection.run_sync(metadata.create_all)

    def _insert(self, table: Table) -> Any:
        return (postgresql.insert if self._dialect == "postgresql" else sqlite.insert)(table)

    # Writes (inside a unit of work) -------------------------------------------------------------------

    async def save(self, connection: AsyncConnection, alert: Alert) -> dict[str, Any]:
        view = alert.view()
        values = {
            "alert_id": alert.id,
            "deployment_id": view["deployment_id"],
            "status": view["status"],
            "raised_at": alert.raised_at,
            "review_due_at": alert.review_due_at if alert.status == AlertStatus.PENDING else None,
            "view": json.dumps(view),
        }
        statement = self._insert(alert_views).values(**values)
        statement = statement.on_conflict_do_update(
            index_elements=["alert_id"], set_={k: statement.excluded[k] for k in values if k != "alert_id"}
        )
        await connection.execute(statement)
        return view

    async def suppress_track(self, connection: AsyncConnection, alert: Alert, at: datetime) -> None:
        assert alert.match is not None
        statement = self._insert(alert_suppressions).values(
            deployment_id=alert.match.deployment_id,
            track_id=alert.match.track_id,
            entry_id=alert.match.entry_id,
            alert_id=alert.id,
            created_at=at,
        )
        await connection.execute(statement.on_conflict_do_nothing())

    async def suppressed_by(
        self, connection: AsyncConnection, deployment_id: str, track_id: str, entry_id: str
    ) -> str | None:
        t = alert_suppressions
        query = select(t.c.alert_id).where(
            t.c.deployment_id == deployment_id, t.c.track_id == track_id, t.c.entry_id == entry_id
        )
        return (await connection.execute(query)).scalar()

    # Reads --------------------------------------------------------------------------------------------

    async def get(self, alert_id: str) -> dict[str, Any] | None:
        async with self._engine.connect() as connection:
            raw = (
                await connection.execute(select(alert_views.c.view).where(alert_views.c.alert_id == alert_id))
            ).scalar()
        return json.loads(raw) if raw is not None else None

    async def get_many(self, alert_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not alert_ids:
            return {}
        query = select(alert_views.c.view).where(alert_views.c.alert_id.in_(list(alert_ids)))
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query)).scalars().all()
        views = [json.loads(raw) for raw in rows]
        return {view["alert_id"]: view for view in views}

    async def search(
        self,
        *,
        statuses: Sequence[str] = (),
        deployment_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[dict[str, Any]]:
        query = select(alert_views.c.view).order_by(alert_views.c.raised_at.desc(), alert_views.c.alert_id)
        if statuses:
            query = query.where(alert_views.c.status.in_(list(statuses)))
        if deployment_id:
            query = query.where(alert_views.c.deployment_id == deployment_id)
        async with self._engine.connect() as connection:
            rows = (await connection.execute(query.limit(limit).offset(offset))).scalars().all()
        return [json.loads(raw) for raw in rows]

    async def counts(self, deployment_id: str | None = None) -> dict[str, dict[str, int]]:
        """Per deployment: alerts by status (suppressed included) and by engagement outcome."""
        t = alert_views
        query = select(t.c.deployment_id, t.c.status, func.count()).group_by(t.c.deployment_id, t.c.status)
        if deployment_id:
            query = query.where(t.c.deployment_id == deployment_id)
        result: dict[str, dict[str, int]] = {}
        async with self._engine.connect() as connection:
            for deployment, status, count in (await connection.execute(query)).all():
                result.setdefault(deployment, _empty_counts())[status] = int(count)
            outcome_query = select(t.c.deployment_id, t.c.view).where(
                t.c.status == AlertStatus.OUTCOME_RECORDED.value
            )
            if deployment_id:
                outcome_query = outcome_query.where(t.c.deployment_id == deployment_id)
            outcomes: Counter[tuple[str, str]] = Counter()
            for deployment, raw in (await connection.execute(outcome_query)).all():
                outcomes[(deployment, json.loads(raw)["outcome"])] += 1
        for (deployment, outcome), count in outcomes.items():
            result[deployment][outcome] = count
        for counts in result.values():
            counts["alerts"] = sum(counts[s] for s in COUNTED_STATUSES if s != AlertStatus.SUPPRESSED)
        if deployment_id and deployment_id not in result:
            result[deployment_id] = _empty_counts() | {"alerts": 0}
        return result

    async def overdue(self, now: datetime, limit: int = 200) -> list[str]:
        t = alert_views
        query = (
            select(t.c.alert_id)
            .where(
                t.c.status == AlertStatus.PENDING.value,
                t.c.review_due_at <= _naive_if_sqlite(now, self._dialect),
            )
            .order_by(t.c.review_due_at)
            .limit(limit)
        )
        async with self._engine.connect() as connection:
            return list((await connection.execute(query)).scalars().all())


def _empty_counts() -> dict[str, int]:
    return {status: 0 for status in COUNTED_STATUSES} | {
        "confirmed_match": 0,
        "not_the_person": 0,
        "not_located": 0,
    }


def _naive_if_sqlite(moment: datetime, dialect: str) -> datetime:
    # SQLite stores DateTime(timezone=True) as naive text in UTC; compare like with like.
    return moment.astimezone(UTC).replace(tzinfo=None) if dialect == "sqlite" else moment
