"""Composition root of the retention service: the only place that builds engines, producers and clients."""

from __future__ import annotations

from dataclasses import dataclass

from lfr_platform.blobs import BlobStore, open_blob_store
from lfr_platform.clock import Clock, SystemClock
from lfr_platform.eventstore.sql import SqlEventDatabase
from lfr_platform.http import create_app
from lfr_platform.messaging.consumer import EventConsumer
from lfr_platform.runtime import ServiceRuntime
from lfr_platform.service import NotifyingDatabase, ServiceKit, service_database_url

from lfr_retention.adapters.facts_sql import SqlRetentionFacts
from lfr_retention.adapters.keys_grpc import GrpcKeyShredder
from lfr_retention.app import facts as fact_handlers
from lfr_retention.app.enforcement import Enforcer
from lfr_retention.app.holds import HoldCommands
from lfr_retention.app.ports import KeyShredder
from lfr_retention.app.scheduler import EnforcementScheduler
from lfr_retention.domain.policy import RetentionPolicy
from lfr_retention.entrypoints.http.routes import RetentionHttp, retention_router
from lfr_retention.settings import RetentionSettings

TOPIC = "lfr.retention.events.v1"


@dataclass
class RetentionComponents:
    kit: ServiceKit
    policy: RetentionPolicy
    facts: SqlRetentionFacts
    enforcer: Enforcer
    holds: HoldCommands
    scheduler: EnforcementScheduler
    keys: KeyShredder
    handlers: dict[str, fact_handlers.Handler]  # consumer name -> handler (tests deliver through these)

    async def start(self) -> None:
        await self.kit.start_database()
        await self.facts.create_tables()


def build_components(
    settings: RetentionSettings,
    *,
    clock: Clock | None = None,
    keys: KeyShredder | None = None,
    blobs: BlobStore | None = None,
) -> RetentionComponents:
    url = service_database_url(settings)
    database = SqlEventDatabase(url, router=lambda _stream_type: TOPIC)
    kit = ServiceKit(settings, router=lambda _stream_type: TOPIC, database=database)
    policy = settings.policy()
    clock = clock or SystemClock()
    facts = SqlRetentionFacts(database.engine)
    if keys is None:
        keys = GrpcKeyShredder.connect(settings.target("deployments"), settings)
    enforcer = Enforcer(kit.db, facts, blobs or open_blob_store(settings), keys, policy, clock)
    scheduler = EnforcementScheduler(enforcer, settings.retention_interval_seconds)
    handlers = {
        "retention-deployments": fact_handlers.deployments_handler(facts, scheduler.wake_after_commit),
        "retention-watchlists": fact_handlers.watchlists_handler(facts),
        "retention-alerts": fact_handlers.alerts_handler(facts),
        "retention-inference": fact_handlers.inference_handler(facts),
    }
    topics = {
        "retention-deployments": settings.retention_deployments_topic,
        "retention-watchlists": settings.retention_watchlists_topic,
        "retention-alerts": settings.retention_alerts_topic,
        "retention-inference": settings.retention_inference_topic,
    }
    # Consumers commit through a database that tells the scheduler, so an event-driven run (a deployment
    # ended) starts only after the facts it needs are committed.
    consumer_db = NotifyingDatabase(kit.db, scheduler.committed)
    for name, handler in handlers.items():
        kit.consumers.append(EventConsumer(name, handler, consumer_db, settings.kafka, topics=[topics[name]]))
    holds = HoldCommands(kit.db, facts, policy, clock)
    return RetentionComponents(kit, policy, facts, enforcer, holds, scheduler, keys, handlers)


def build(settings: RetentionSettings) -> ServiceRuntime:
    parts = build_components(settings)
    http = RetentionHttp(parts.policy, parts.facts, parts.holds, parts.enforcer)
    app = create_app(settings.service, [retention_router(http)], parts.kit.readiness_checks, settings)
    runtime = parts.kit.runtime(app, background=[parts.scheduler.run])
    runtime.on_start.append(parts.facts.create_tables)  # after the kit's event-store migration
    if isinstance(parts.keys, GrpcKeyShredder):
        runtime.on_stop.append(parts.keys.close)
    return runtime
