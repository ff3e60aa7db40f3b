"""Composition root of the alerts service: the only place that builds engines, producers and clients."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from lfr_platform.blobs import open_blob_store
from lfr_platform.clock import Clock, SystemClock
from lfr_platform.data_keys import GrpcDataKeys
from lfr_platform.eventstore.sql import SqlEventDatabase
from lfr_platform.http import create_app
from lfr_platform.messaging.consumer import EventConsumer
from lfr_platform.runtime import ServiceRuntime
from lfr_platform.service import NotifyingDatabase, ServiceKit, service_database_url

from lfr_alerts.adapters.media import CropReader
from lfr_alerts.adapters.views_sql import SqlAlertViews
from lfr_alerts.adapters.watchlist_images import SealedWatchlistImages, WatchlistMediaIndex
from lfr_alerts.app.changes import ChangeSignal
from lfr_alerts.app.handlers import AlertsContext
from lfr_alerts.app.ports import DataKeys, WatchlistImages
from lfr_alerts.app.scheduler import NotReviewedScheduler
from lfr_alerts.entrypoints.consumers.face_matched import CONSUMER_NAME, face_matched_handler
from lfr_alerts.entrypoints.http.routes import AlertsHttp, alerts_router
from lfr_alerts.settings import AlertsSettings

TOPIC = "lfr.alerts.events.v1"
WATCHLIST_CONSUMER = "alerts-watchlist-media"


@dataclass
class AlertsComponents:
    kit: ServiceKit
    ctx: AlertsContext
    http: AlertsHttp
    scheduler: NotReviewedScheduler
    keys: DataKeys
    watchlist_media: WatchlistMediaIndex

    async def create_tables(self) -> None:
        await self.ctx.views.create_tables()
        await self.watchlist_media.create_tables()


def build_components(
    settings: AlertsSettings,
    *,
    clock: Clock | None = None,
    keys: DataKeys | None = None,
    watchlist_images: WatchlistImages | None = None,
) -> AlertsComponents:
    url = service_database_url(settings)
    database = SqlEventDatabase(url, router=lambda _stream_type: TOPIC)
    kit = ServiceKit(settings, router=lambda _stream_type: TOPIC, database=database)
    changes = ChangeSignal()
    # Every commit (consumer or command) wakes the relay (via kit.db) and the live streams (here).
    db = NotifyingDatabase(kit.db, changes.notify)
    views = SqlAlertViews(database.engine)
    ctx = AlertsContext(
        db=db,
        views=views,
        clock=clock or SystemClock(),
        review_within=timedelta(seconds=settings.alerts_review_timeout_seconds),
    )
    if keys is None:
        # Uncached: a key retention shreds must stop opening crops at once; one fetch per media request.
        keys = GrpcDataKeys.connect(settings.target("deployments"), settings, cache_seconds=0)
    blobs = open_blob_store(settings)
    media_index = WatchlistMediaIndex(database.engine)
    http = AlertsHttp(
        ctx=ctx,
        changes=changes,
        crops=CropReader(blobs, keys),
        watchlist_images=watchlist_images or SealedWatchlistImages(media_index, blobs, keys),
        heartbeat_seconds=settings.alerts_sse_heartbeat_seconds,
        poll_seconds=settings.alerts_sse_poll_seconds,
    )
    kit.consumers.append(
        EventConsumer(
            CONSUMER_NAME, face_matched_handler(ctx), db, settings.kafka, topics=[settings.alerts_match_topic]
        )
    )
    kit.consumers.append(
        EventConsumer(
            WATCHLIST_CONSUMER,
            media_index.on_event,
            db,
            settings.kafka,
            topics=[settings.alerts_watchlist_topic],
        )
    )
    scheduler = NotReviewedScheduler(ctx, settings.alerts_scan_interval_seconds)
    return AlertsComponents(
        kit=kit, ctx=ctx, http=http, scheduler=scheduler, keys=keys, watchlist_media=media_index
    )


def build(settings: AlertsSettings) -> ServiceRuntime:
    parts = build_components(settings)
    app = create_app(settings.service, [alerts_router(parts.http)], parts.kit.readiness_checks, settings)
    runtime = parts.kit.runtime(app, background=[parts.scheduler.run])
    runtime.on_start.append(parts.create_tables)  # after the kit's event-store migration
    if isinstance(parts.keys, GrpcDataKeys):
        runtime.on_stop.append(parts.keys.close)
    return runtime
