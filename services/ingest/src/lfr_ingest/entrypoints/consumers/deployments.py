"""Consumer of `lfr.deployments.events.v1`: folds each deployment's lifecycle into ingest's own view
(tracked, exactly-once effect via lfr_platform's EventConsumer)."""

from __future__ import annotations

from lfr_platform.eventstore import UnitOfWork
from lfr_platform.messaging.consumer import EventHandler
from lfr_platform.messaging.wire import EventMessage

from lfr_ingest.app.handlers import IngestApp

CONSUMER_NAME = "ingest-deployments"


def deployments_handler(ingest: IngestApp) -> EventHandler:
    async def handle(uow: UnitOfWork, message: EventMessage) -> None:
        await ingest.observe_deployment(uow, message)

    return handle
