"""Event handlers that fold other services' events into retention's facts tables (one per topic).

Each runs inside the consumer's unit of work, after its tracking row, so the fact and "processed"
commit together. Unknown event types are ignored: a topic carries more than retention needs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from lfr_platform.eventstore.ports import UnitOfWork
from lfr_platform.messaging.wire import EventMessage

from lfr_retention.adapters.facts_sql import SqlRetentionFacts

Handler = Callable[[UnitOfWork, EventMessage], Awaitable[None]]


def _blob_ids(data: Any) -> list[str]:
    """An added entry's blobs: its images and templates, and (schema 2) its sealed personal details."""
    ids: list[str] = []
    for image in data.get("images") or ():
        if isinstance(image, dict):
            ids.extend(str(image[k]) for k in ("image_blob_id", "template_blob_id") if image.get(k))
    sealed = data.get("sealed_details")
    if isinstance(sealed, dict) and sealed.get("blob_id"):
        ids.append(str(sealed["blob_id"]))
    return ids


def _time(value: Any, fallback: datetime) -> datetime:
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return fallback
        return parsed if parsed.tzinfo else fallback
    return fallback


def deployments_handler(facts: SqlRetentionFacts, on_ended: Callable[[], None]) -> Handler:
    async def handle(uow: UnitOfWork, message: EventMessage) -> None:
        if message.event_type in ("DeploymentStarted", "DeploymentResumed"):
            await facts.deployment_started(uow.connection, message.stream_id, message.occurred_at)
        elif message.event_type == "DeploymentEnded":
            await facts.deployment_ended(uow.connection, message.stream_id, message.occurred_at)
            on_ended()  # frames key now; watchlist purge is due at end + grace (the schedule sees it)

    return handle


def watchlists_handler(facts: SqlRetentionFacts) -> Handler:
    async def handle(uow: UnitOfWork, message: EventMessage) -> None:
        data = message.data
        if message.event_type == "WatchlistCreated" and data.get("deployment_id"):
            await facts.watchlist_created(uow.connection, message.stream_id, str(data["deployment_id"]))
        elif message.event_type == "WatchlistEntryAdded":
            await facts.watchlist_blobs_added(uow.connection, message.stream_id, _blob_ids(data))
        elif message.event_type in ("WatchlistEntryRemoved", "WatchlistPurged"):
            ids = [str(b) for b in data.get("blob_ids") or ()]
            await facts.watchlist_blobs_added(uow.connection, message.stream_id, ids)

    return handle


def alerts_handler(facts: SqlRetentionFacts) -> Handler:
    async def handle(uow: UnitOfWork, message: EventMessage) -> None:
        data = message.data
        if message.event_type in ("AlertRaised", "AlertSuppressed") and data.get("crop_blob_key"):
            await facts.crop_seen(uow.connection, str(data["crop_blob_key"]), str(data["deployment_id"]),
                                  message.occurred_at, message.stream_id)  # fmt: skip

    return handle


def inference_handler(facts: SqlRetentionFacts) -> Handler:
    """A match's crop is tracked from the match itself: if no alert ever follows, it still expires."""

    async def handle(uow: UnitOfWork, message: EventMessage) -> None:
        data = message.data
        if message.event_type == "FaceMatched" and data.get("crop_blob_key"):
            at = _time(data.get("captured_at"), message.occurred_at)
            await facts.crop_seen(uow.connection, str(data["crop_blob_key"]), str(data["deployment_id"]),
                                  min(at, message.occurred_at), None)  # fmt: skip

    return handle
