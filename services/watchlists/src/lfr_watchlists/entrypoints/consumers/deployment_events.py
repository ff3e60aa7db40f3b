"""Consumes `lfr.deployments.events.v1`: DeploymentAuthorised freezes the watchlist at the authorised
revision, AuthorisationLapsed reopens it. The effect commits with the consumer's tracking row (exactly
once); a freeze the watchlist refuses is recorded as an event (see handlers.react_in), not retried."""

from __future__ import annotations

from lfr_platform.errors import NotFound
from lfr_platform.eventstore import UnitOfWork
from lfr_platform.http import correlation_scope
from lfr_platform.messaging.consumer import DeadLetter, EventHandler
from lfr_platform.messaging.wire import EventMessage
from lfr_platform.telemetry import get_logger

from lfr_watchlists.app.handlers import WatchlistServices, react_in
from lfr_watchlists.app.reactions import command_for

CONSUMER_NAME = "watchlists-deployment-reactions"
DEPLOYMENTS_TOPIC = "lfr.deployments.events.v1"

log = get_logger(__name__)


def deployment_events_handler(svc: WatchlistServices) -> EventHandler:
    async def handle(uow: UnitOfWork, message: EventMessage) -> None:
        meta = message.metadata
        command = command_for(message.event_type, message.stream_id, message.data,
                              actor=meta.get("actor") or "deployments", role=meta.get("role") or "system",
                              correlation_id=meta.get("correlation_id"))
        if command is None:
            return
        with correlation_scope(meta.get("correlation_id")):
            try:
                await react_in(uow, command, svc)
            except NotFound:
                # Authorised against a watchlist this service never had: nothing to freeze. Say so once.
                log.error("deployment event names an unknown watchlist", event_type=message.event_type,
                          deployment_id=message.stream_id, watchlist_id=command.watchlist_id)

    return handle


async def log_dead_letter(letter: DeadLetter) -> None:
    log.error("deployment event dead-lettered", consumer=letter.consumer, topic=letter.topic,
              offset=letter.offset, event_id=letter.event_id, error=letter.error, attempts=letter.attempts)
