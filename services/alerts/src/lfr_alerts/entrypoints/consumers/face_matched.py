"""Consumes `lfr.inference.events.v1`: each `FaceMatched` raises an alert (or a counted suppression).

The consumer's unit of work commits the alert, its view and the tracking row together; its commit wakes
the live streams, so operators see the alert as soon as it is consumed.
"""

from __future__ import annotations

from lfr_platform.eventstore import UnitOfWork
from lfr_platform.messaging.consumer import EventHandler
from lfr_platform.messaging.wire import EventMessage

from lfr_alerts.app.handlers import AlertsContext, on_face_matched

CONSUMER_NAME = "alerts-face-matched"
INFERENCE_TOPIC = "lfr.inference.events.v1"


def face_matched_handler(ctx: AlertsContext) -> EventHandler:
    async def handle(uow: UnitOfWork, message: EventMessage) -> None:
        await on_face_matched(uow, message, ctx)

    return handle
