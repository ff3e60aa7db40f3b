"""One handler per command or incoming event: load the Alert, let it decide, save its events and its view
in one unit of work.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from lfr_platform.aggregate import Attribution
from lfr_platform.clock import Clock, SystemClock, utc
from lfr_platform.errors import ConcurrencyError, DomainRuleViolation, InvalidInput
from lfr_platform.eventstore import EventDatabase, EventSourcedRepository, UnitOfWork
from lfr_platform.messagebus import Handlers, MessageBus
from lfr_platform.messaging.wire import EventMessage

from lfr_alerts.adapters.views_sql import SqlAlertViews
from lfr_alerts.app import commands as c
from lfr_alerts.domain.alert import Alert, Match
from lfr_alerts.domain.events import ALERT_EVENTS

REPOSITORY: EventSourcedRepository[Alert] = EventSourcedRepository(Alert, ALERT_EVENTS)
# Alert ids derive from the FaceMatched event id: a match can never raise two alerts.
ALERT_ID_NAMESPACE = uuid.UUID("6f1c3c1e-4a39-4a7e-9a51-5d0b1a7f6e21")


@dataclass
class AlertsContext:
    db: EventDatabase
    views: SqlAlertViews
    clock: Clock = field(default_factory=SystemClock)
    review_within: timedelta = timedelta(minutes=5)


def alert_id_for(face_matched_event_id: uuid.UUID | str) -> str:
    return str(uuid.uuid5(ALERT_ID_NAMESPACE, str(face_matched_event_id)))


# Incoming FaceMatched --------------------------------------------------------------------------------


def match_from(message: EventMessage) -> Match:
    data = message.data
    try:
        return Match(
            deployment_id=str(data["deployment_id"]),
            camera_id=str(data["camera_id"]),
            track_id=str(data["track_id"]),
            captured_at=utc(_datetime(data["captured_at"])),
            score=float(data["score"]),
            threshold=float(data["threshold"]),
            watchlist_id=str(data.get("watchlist_id") or ""),
            entry_id=str(data["entry_id"]),
            crop_blob_key=str(data["crop_blob_key"]),
            model_version=str(data.get("model_version") or ""),
            face_matched_event_id=str(message.event_id),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise InvalidInput(f"FaceMatched {message.event_id} is malformed: {error!r}") from None


async def on_face_matched(
    uow: UnitOfWork, message: EventMessage, ctx: AlertsContext
) -> dict[str, Any] | None:
    """Raise an alert (or, for a track already judged not the person, a counted suppression).

    Runs inside the consumer's unit of work, which commits it with the tracking row."""
    if message.event_type != "FaceMatched":
        return None
    match = match_from(message)
    alert_id = alert_id_for(message.event_id)
    if await uow.events.read_stream(alert_id):
        return None  # raised already (a redelivery under a different consumer name, or a replay)
    now = ctx.clock.now()
    suppressed_by = await ctx.views.suppressed_by(
        uow.connection, match.deployment_id, match.track_id, match.entry_id
    )
    if suppressed_by is not None:
        alert = Alert.suppress(alert_id, match, suppressed_by=suppressed_by, at=now)
    else:
        alert = Alert.raise_for(alert_id, match, review_within=ctx.review_within, at=now)
    metadata = message.event_metadata
    await REPOSITORY.save(uow.events, alert, correlation_id=metadata.correlation_id,
                          causation_id=str(message.event_id), traceparent=metadata.traceparent)  # fmt: skip
    return await ctx.views.save(uow.connection, alert)


# Human decisions --------------------------------------------------------------------------------------


async def _change(
    ctx: AlertsContext, cmd: c.Command, decide: Callable[[Alert, datetime], None]
) -> dict[str, Any]:
    async with ctx.db.unit_of_work() as uow:
        alert = await REPOSITORY.get(uow.events, cmd.alert_id)
        now = ctx.clock.now()
        decide(alert, now)
        if not alert.pending:
            return alert.view()
        await REPOSITORY.save(uow.events, alert, correlation_id=cmd.correlation_id)
        if alert.judged_not_the_person:
            await ctx.views.suppress_track(uow.connection, alert, now)
        view = await ctx.views.save(uow.connection, alert)
        await uow.commit()
        return view


def _who(cmd: c.Command, now: datetime) -> Attribution:
    return {"actor": cmd.actor, "role": cmd.role, "at": now}


async def start_review(cmd: c.StartReview, ctx: AlertsContext) -> dict[str, Any]:
    return await _change(ctx, cmd, lambda a, now: a.start_review(**_who(cmd, now)))


async def dismiss(cmd: c.DismissAlert, ctx: AlertsContext) -> dict[str, Any]:
    return await _change(ctx, cmd, lambda a, now: a.dismiss(cmd.reason, cmd.note, **_who(cmd, now)))


async def engage(cmd: c.EngageAlert, ctx: AlertsContext) -> dict[str, Any]:
    return await _change(ctx, cmd, lambda a, now: a.engage(cmd.note, **_who(cmd, now)))


async def record_outcome(cmd: c.RecordOutcome, ctx: AlertsContext) -> dict[str, Any]:
    return await _change(
        ctx,
        cmd,
        lambda a, now: a.record_outcome(
            cmd.outcome, cmd.action, cmd.action_detail, cmd.note, **_who(cmd, now)
        ),
    )


HANDLERS = (
    Handlers[AlertsContext, dict[str, Any]]()
    .register(c.StartReview, start_review)
    .register(c.DismissAlert, dismiss)
    .register(c.EngageAlert, engage)
    .register(c.RecordOutcome, record_outcome)
)


async def handle(command: c.Command, ctx: AlertsContext) -> dict[str, Any]:
    # Two people clicking at once: the bus re-runs the handler, which re-reads and lets the rules decide.
    return await MessageBus(ctx, HANDLERS).handle(command)


# The not-reviewed scheduler ---------------------------------------------------------------------------


async def expire_overdue(ctx: AlertsContext) -> list[str]:
    """Mark every alert no one reviewed in time `not_reviewed` (at the injected clock's now)."""
    now = ctx.clock.now()
    expired: list[str] = []
    for alert_id in await ctx.views.overdue(now):
        try:
            async with ctx.db.unit_of_work() as uow:
                alert = await REPOSITORY.get(uow.events, alert_id)
                if not alert.is_overdue(now):
                    continue  # someone reviewed it meanwhile
                alert.mark_not_reviewed(at=now)
                await REPOSITORY.save(uow.events, alert)
                await ctx.views.save(uow.connection, alert)
                await uow.commit()
                expired.append(alert_id)
        except (ConcurrencyError, DomainRuleViolation):
            continue  # a person decided at the same moment: their decision stands
    return expired


def _datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))
