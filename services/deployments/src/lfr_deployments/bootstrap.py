"""Composition root of the deployments service: the only place that builds engines, producers and clients.

    parts = build_components(settings, clock=ManualClock(...))   # tests: real SQLite/PostgreSQL, own clock
    runtime = build(settings)                                     # `python -m lfr_deployments`
    report = await rotate_master_key(settings, actor=...)         # `... -m lfr_deployments rotate-master-key`
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from lfr_platform.clock import Clock, SystemClock
from lfr_platform.crypto import KeyRing, SqlWrappedKeyStore, migrate_data_keys_table
from lfr_platform.eventstore.sql import SqlEventDatabase
from lfr_platform.http import create_app
from lfr_platform.key_rotation import DEFAULT_BATCH_SIZE, RewrapReport
from lfr_platform.messaging.consumer import EventConsumer
from lfr_platform.runtime import ServiceRuntime
from lfr_platform.service import ServiceKit, service_database_url

from lfr_deployments.adapters.calibration import JsonCalibrationTable
from lfr_deployments.adapters.watchlist_projection import SqlWatchlistSummaries, on_watchlist_event
from lfr_deployments.app.data_keys import DataKeys
from lfr_deployments.app.expiry import WindowExpiry
from lfr_deployments.app.handlers import DeploymentBus, DeploymentServices, build_bus
from lfr_deployments.domain.roles import ADMIN
from lfr_deployments.entrypoints.grpc.data_keys import SERVICE_NAME, data_keys_registrar
from lfr_deployments.entrypoints.http.routes import deployments_router
from lfr_deployments.settings import DeploymentsSettings


@dataclass
class DeploymentsComponents:
    settings: DeploymentsSettings
    kit: ServiceKit
    database: SqlEventDatabase
    bus: DeploymentBus
    summaries: SqlWatchlistSummaries
    keys: DataKeys
    expiry: WindowExpiry
    watchlist_consumer: EventConsumer

    async def create_tables(self) -> None:
        """Projection and data-key tables, idempotently, after the event store's migration."""
        await self.summaries.create_tables()
        async with self.database.engine.begin() as connection:
            await connection.run_sync(migrate_data_keys_table)

    async def start(self) -> None:
        await self.kit.start_database()
        await self.create_tables()

    def app(self) -> FastAPI:
        router = deployments_router(self.bus, self.settings.start_freeze_wait_seconds)
        return create_app(self.settings.service, [router], self.kit.readiness_checks, self.settings)


def build_components(settings: DeploymentsSettings, *, clock: Clock | None = None) -> DeploymentsComponents:
    url = service_database_url(settings)
    topic = settings.deployments_topic
    database = SqlEventDatabase(url, router=lambda _stream_type: topic)
    kit = ServiceKit(settings, router=lambda _stream_type: topic, database=database)
    summaries = SqlWatchlistSummaries(database.engine, database.read_engine)
    services = DeploymentServices(
        db=kit.db, calibration=JsonCalibrationTable.load(settings.calibration_file), watchlists=summaries,
        policy=settings.policy(), clock=clock or SystemClock(),
    )
    bus = build_bus(services)
    store = SqlWrappedKeyStore(database.engine)
    ring = KeyRing(settings.master_key_bytes(), store, settings.previous_master_keys_bytes())
    keys = DataKeys(ring, services)
    consumer = kit.add_consumer(
        settings.watchlist_consumer_name, on_watchlist_event, [settings.watchlists_topic]
    )
    expiry = WindowExpiry(bus, settings.expiry_interval_seconds)
    return DeploymentsComponents(settings, kit, database, bus, summaries, keys, expiry, consumer)


def build(settings: DeploymentsSettings) -> ServiceRuntime:
    parts = build_components(settings)
    runtime = parts.kit.runtime(
        parts.app(),
        grpc=[data_keys_registrar(parts.keys)],
        grpc_service_names=[SERVICE_NAME],
        background=[parts.expiry.run],
    )
    runtime.on_start.append(parts.create_tables)  # after the kit's event-store migration
    return runtime


async def rotate_master_key(
    settings: DeploymentsSettings, *, actor: str, reason: str = "", batch_size: int = DEFAULT_BATCH_SIZE
) -> RewrapReport:
    """One re-wrap run beside (or without) the server: a Kubernetes Job, `lfr keys rotate`.

    Needs only the database: `MasterKeyRotated` goes into the outbox with its event, and the service's
    relay publishes it (at once if the service runs, else when it next starts).
    """
    parts = build_components(settings)
    await parts.start()
    try:
        return await parts.keys.rotate_master_key(
            actor=actor, role=ADMIN, reason=reason, batch_size=batch_size
        )
    finally:
        await parts.kit.db.dispose()
