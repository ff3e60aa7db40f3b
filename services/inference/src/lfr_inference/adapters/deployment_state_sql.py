"""The `inference_deployment_state` table: the durable projection of deployment events that the frame
path reads (through `DeploymentRegistry`, in memory). Written in the consumer's unit of work, so the
projection and the consumer's tracking row commit together. Non-biometric."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from lfr_platform.clock import utc
from sqlalchemy import Boolean, Column, DateTime, Float, Integer, MetaData, String, Table, Text, select
from sqlalchemy.ext.asyncio import AsyncConnection

from lfr_inference.domain.deployment_state import DeploymentState

metadata = MetaData()

deployment_state_table = Table(
    "inference_deployment_state",
    metadata,
    Column("deployment_id", String(255), primary_key=True),
    Column("processing", Boolean, nullable=False),
    Column("window_start", DateTime(timezone=True), nullable=True),
    Column("window_end", DateTime(timezone=True), nullable=True),
    Column("threshold", Float, nullable=False),
    Column("watchlist_id", String(255), nullable=True),
    Column("watchlist_version", Integer, nullable=True),
    Column("cameras", Text, nullable=False, default=""),
    Column("last_event", String(64), nullable=False),
)


async def create_tables(connection: AsyncConnection) -> None:
    await connection.run_sync(metadata.create_all)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; they were stored as UTC."""
    if value is None:
        return None
    return utc(value if value.tzinfo else value.replace(tzinfo=UTC))


def _row(state: DeploymentState) -> dict[str, Any]:
    return {
        "deployment_id": state.deployment_id,
        "processing": state.processing,
        "window_start": state.window_start,
        "window_end": state.window_end,
        "threshold": state.threshold,
        "watchlist_id": state.watchlist_id,
        "watchlist_version": state.watchlist_version,
        "cameras": "\n".join(state.cameras),
        "last_event": state.last_event,
    }


def _state(row: Any) -> DeploymentState:
    return DeploymentState(
        deployment_id=row["deployment_id"],
        processing=bool(row["processing"]),
        window_start=_aware(row["window_start"]),
        window_end=_aware(row["window_end"]),
        threshold=float(row["threshold"]),
        watchlist_id=row["watchlist_id"],
        watchlist_version=row["watchlist_version"],
        cameras=tuple(c for c in (row["cameras"] or "").split("\n") if c),
        last_event=row["last_event"],
    )


async def load(connection: AsyncConnection, deployment_id: str) -> DeploymentState | None:
    t = deployment_state_table
    row = (await connection.execute(select(t).where(t.c.deployment_id == deployment_id))).mappings().first()
    return None if row is None else _state(row)


async def load_all(connection: AsyncConnection) -> list[DeploymentState]:
    rows = (await connection.execute(select(deployment_state_table))).mappings().all()
    return [_state(row) for row in rows]


async def save(connection: AsyncConnection, state: DeploymentState) -> None:
    t = deployment_state_table
    values = _row(state)
    result = await connection.execute(
        t.update().where(t.c.deployment_id == state.deployment_id).values(**values)
    )
    if not result.rowcount:
        await connection.execute(t.insert().values(**values))
