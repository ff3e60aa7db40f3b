"""Retention's own facts tables, in its database next to its event store.

Consumers write them through the unit of work's connection, in the same transaction as the tracking row,
so a redelivered event changes nothing twice. Holds and receipts are read models of retention's own
events, written in the transaction that appends them.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lfr_retention.domain.decisions import CropFacts, DeploymentFacts, HoldFacts, RetentionFacts

metadata = MetaData()

deployments = Table(
    "retention_deployments",
    metadata,
    Column("deployment_id", String(128), primary_key=True),
    Column("started_at", DateTime(timezone=True), nullable=True),
    Column("ended_at", DateTime(timezone=True), nullable=True),
)

crops = Table(
    "retention_crops",
    metadata,
    Column("blob_key", String(400), primary_key=True),
    Column("deployment_id", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("alert_id", String(128), nullable=True),
    Index("ix_retention_crops_alert", "alert_id"),
)

watchlists = Table(
    "retention_watchlists",
    metadata,
    Column("watchlist_id", String(128), primary_key=True),
    Column("deployment_id", String(128), nullable=False),
)

watchlist_blobs = Table(
    "retention_watchlist_blobs",
    metadata,
    Column("watchlist_id", String(128), primary_key=True),
    Column("blob_id", String(400), primary_key=True),
)

holds = Table(
    "retention_holds",
    metadata,
    Column("hold_id", String(64), primary_key=True),
    Column("alert_id", String(128), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("released", Boolean, nullable=False, default=False),
    Column("view", Text, nullable=False),
)

receipts = Table(
    "retention_receipts",
    metadata,
    Column("receipt_id", String(500), primary_key=True),
    Column("sequence", Integer, nullable=False),
    Column("data_class", String(32), nullable=False),
    Column("deployment_id", String(128), nullable=False),
    Column("deleted_at", DateTime(timezone=True), nullable=False),
    Column("view", Text, nullable=False),
)


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class SqlRetentionFacts:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._insert: Any = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert

    async def create_tables(self) -> None:
        async with self._engine.begin() as connection:
            await connection.run_sync(metadata.create_all)

    # Writes (inside a unit of work) -------------------------------------------------------------------

    async def deployment_started(self, conn: AsyncConnection, deployment_id: str, at: datetime) -> None:
        stmt = self._insert(deployments).values(deployment_id=deployment_id, started_at=at)
        await conn.execute(
            stmt.on_conflict_do_update(index_elements=["deployment_id"], set_={"started_at": at})
        )

    async def deployment_ended(self, conn: AsyncConnection, deployment_id: str, at: datetime) -> None:
        stmt = self._insert(deployments).values(deployment_id=deployment_id, ended_at=at)
        await conn.execute(
            stmt.on_conflict_do_update(index_elements=["deployment_id"], set_={"ended_at": at})
        )

    async def crop_seen(
        self, conn: AsyncConnection, blob_key: str, deployment_id: str, at: datetime, alert_id: str | None
    ) -> None:
        """A crop from a match or an alert: the earliest time wins (retention counts from the alert)."""
        row = (await conn.execute(select(crops).where(crops.c.blob_key == blob_key))).mappings().first()
        if row is None:
            await conn.execute(
                crops.insert().values(
                    blob_key=blob_key, deployment_id=deployment_id, created_at=at, alert_id=alert_id
                )  # fmt: skip
            )
            return
        created = min(_utc(row["created_at"]) or at, at)
        await conn.execute(
            crops.update()
            .where(crops.c.blob_key == blob_key)
            .values(created_at=created, alert_id=alert_id or row["alert_id"])
        )

    async def watchlist_created(self, conn: AsyncConnection, watchlist_id: str, deployment_id: str) -> None:
        stmt = self._insert(watchlists).values(watchlist_id=watchlist_id, deployment_id=deployment_id)
        await conn.execute(
            stmt.on_conflict_do_update(index_elements=["watchlist_id"], set_={"deployment_id": deployment_id})
        )

    async def watchlist_blobs_added(
        self, conn: AsyncConnection, watchlist_id: str, blob_ids: list[str]
    ) -> None:
        for blob_id in blob_ids:
            stmt = self._insert(watchlist_blobs).values(watchlist_id=watchlist_id, blob_id=blob_id)
            await conn.execute(stmt.on_conflict_do_nothing())

    async def save_hold(self, conn: AsyncConnection, view: dict[str, Any], expires_at: datetime) -> None:
        values = {"alert_id": view["alert_id"], "expires_at": expires_at, "released": bool(view["released"]),
                  "view": json.dumps(view)}  # fmt: skip
        stmt = self._insert(holds).values(hold_id=view["hold_id"], **values)
        await conn.execute(stmt.on_conflict_do_update(index_elements=["hold_id"], set_=values))

    async def save_receipt(self, conn: AsyncConnection, view: dict[str, Any], deleted_at: datetime) -> None:
        count = (await conn.execute(select(func.coalesce(func.max(receipts.c.sequence), 0)))).scalar_one()
        await conn.execute(
            receipts.insert().values(
                receipt_id=view["receipt_id"],
                sequence=count + 1,
                data_class=view["data_class"],
                deployment_id=view["deployment_id"],
                deleted_at=deleted_at,
                view=json.dumps(view),
            )  # fmt: skip
        )

    # Reads --------------------------------------------------------------------------------------------

    async def load(self) -> RetentionFacts:
        async with self._engine.connect() as conn:
            deps = {
                r["deployment_id"]: DeploymentFacts(r["deployment_id"], _utc(r["ended_at"]))
                for r in (await conn.execute(select(deployments))).mappings()
            }
            crop_facts = tuple(
                CropFacts(
                    r["blob_key"],
                    r["deployment_id"],
                    _utc(r["created_at"]) or datetime.now(UTC),
                    r["alert_id"],
                )  # fmt: skip
                for r in (await conn.execute(select(crops).order_by(crops.c.blob_key))).mappings()
            )
            blobs: dict[str, list[str]] = {}
            joined = select(watchlists.c.deployment_id, watchlist_blobs.c.blob_id).join(
                watchlist_blobs, watchlist_blobs.c.watchlist_id == watchlists.c.watchlist_id
            )
            for dep, blob_id in (await conn.execute(joined)).all():
                blobs.setdefault(dep, []).append(blob_id)
            hold_facts = tuple(
                HoldFacts(
                    r["hold_id"],
                    r["alert_id"],
                    _utc(r["expires_at"]) or datetime.now(UTC),
                    bool(r["released"]),
                )  # fmt: skip
                for r in (await conn.execute(select(holds))).mappings()
            )
            done = frozenset((await conn.execute(select(receipts.c.receipt_id))).scalars())
        return RetentionFacts(deps, crop_facts, {k: tuple(v) for k, v in blobs.items()}, hold_facts, done)

    async def holds(self) -> list[dict[str, Any]]:
        async with self._engine.connect() as conn:
            rows = (await conn.execute(select(holds.c.view).order_by(holds.c.hold_id))).scalars()
            return [json.loads(v) for v in rows]

    async def receipts(self, deployment_id: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
        query = select(receipts.c.view).order_by(receipts.c.sequence).limit(limit)
        if deployment_id:
            query = query.where(receipts.c.deployment_id == deployment_id)
        async with self._engine.connect() as conn:
            return [json.loads(v) for v in (await conn.execute(query)).scalars()]

    async def watchlist_deployment(self, watchlist_id: str) -> str | None:
        async with self._engine.connect() as conn:
            query = select(watchlists.c.deployment_id).where(watchlists.c.watchlist_id == watchlist_id)
            return (await conn.execute(query)).scalar_one_or_none()

    async def crop_of_alert(self, alert_id: str) -> dict[str, Any] | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(select(crops).where(crops.c.alert_id == alert_id))).mappings().first()
        return dict(row) if row else None
