"""One embedded data directory with real components, for retention's time-travel tests.

* deployments: its app layer (command bus + Deployment aggregate) on its SQLite event store
  `<data_dir>/deployments.db`; the calibration table and watchlist summary port are the deployments
  unit tests' fakes (the calibration model cannot be fitted here, and is irrelevant to retention);
* data keys: a real `KeyRing` over `SqlWrappedKeyStore` in `deployments.db`, served over a real gRPC
  `lfr.keys.v1.DataKeys` server (GetDataKey + DestroyDataKey), standing in for the deployments service;
* watchlists: the Watchlist aggregate on its SQLite event store; images and templates sealed under the
  deployment's `watchlist_media` key in the shared FileBlobStore;
* alerts: the alerts service's components (SQLite store + read model) fed FaceMatched as inference
  publishes it; crops are real face JPEGs sealed under the `alert_media` key;
* retention: its components with a ManualClock, fed every service's stored events through its own
  handlers exactly as its tracked consumers do (tracking row + handler + commit);
* audit: `SqlLedger` in `<data_dir>/audit.db` fed every service's events in their position order.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from lfr_alerts.bootstrap import AlertsComponents
from lfr_alerts.bootstrap import build_components as build_alerts
from lfr_alerts.entrypoints.consumers.face_matched import CONSUMER_NAME, face_matched_handler
from lfr_alerts.settings import AlertsSettings
from lfr_audit.adapters.ledger_sql import SqlLedger
from lfr_deployments.app.handlers import DeploymentServices, build_bus
from lfr_deployments.domain.policy import GovernancePolicy
from lfr_platform.blobs import FileBlobStore, blob_key, new_blob_id
from lfr_platform.clock import ManualClock
from lfr_platform.crypto import (
    DataClass,
    KeyDestroyed,
    KeyNotFound,
    KeyRing,
    SqlWrappedKeyStore,
    data_keys_metadata,
)
from lfr_platform.eventstore.repository import EventSourcedRepository
from lfr_platform.eventstore.sql import SqlEventDatabase
from lfr_platform.messaging.wire import EventMessage
from lfr_retention.adapters.keys_grpc import GrpcKeyShredder
from lfr_retention.bootstrap import RetentionComponents
from lfr_retention.bootstrap import build_components as build_retention
from lfr_retention.settings import RetentionSettings
from lfr_watchlists.domain.entry import AgeBand, Category, EntryDetails, EntryImage, ImageSource, SealedRef
from lfr_watchlists.domain.events import WATCHLIST_EVENTS
from lfr_watchlists.domain.watchlist import Watchlist, WatchlistPolicy

from tests.fixtures import events
from tests.fixtures.grpc_peers import DataKeysServer, serve_data_keys
from tests.unit.deployments.conftest import (
    DEPLOYMENT,
    WATCHLIST,
    WINDOW_START,
    FakeCalibration,
    FakeWatchlists,
    World,
    summary,
)

MASTER_KEY = bytes(range(32))
SOURCES = ("deployments", "watchlists", "alerts")


@dataclass
class RetentionEnv:
    data_dir: Path
    clock: ManualClock
    ring: KeyRing
    keys: DataKeysServer
    blobs: FileBlobStore
    deployments: World
    deployments_db: SqlEventDatabase
    watchlists_db: SqlEventDatabase
    alerts: AlertsComponents
    retention: RetentionComponents
    ledger: SqlLedger
    face_jpegs: list[bytes]

    @property
    def keys_target(self) -> str:
        return self.keys.target

    # Other services' actions -------------------------------------------------------------------------

    async def run_deployment(self) -> None:
        """Draft, authorise and start `dep-1` (the deployments unit tests' valid Form 1)."""
        await self.deployments.live()
        for data_class in DataClass:
            await self.ring.ensure_key(DEPLOYMENT, data_class)

    async def end_deployment(self) -> None:
        from lfr_deployments.app import commands as c

        from tests.unit.deployments.conftest import SILVER

        await self.deployments.run(c.EndDeployment(actor=SILVER[0], role=SILVER[1], deployment_id=DEPLOYMENT))

    async def create_watchlist(self, entries: int = 2) -> list[str]:
        """Watchlist `wl-1` for dep-1 with sealed images, templates and personal details; returns their
        blob keys."""
        now = self.clock.now()
        watchlist = Watchlist.create(WATCHLIST, DEPLOYMENT, "Station approach", actor="wlm-1",
                                     role="watchlist_manager", at=now)  # fmt: skip
        keys: list[str] = []
        for index in range(entries):
            image_id, template_id, personal_id = new_blob_id(), new_blob_id(), new_blob_id()
            image = self.face_jpegs[index % len(self.face_jpegs)]
            template = b"".join(float(i / 512).hex().encode() for i in range(512))  # stand-in; sealed anyway
            personal = b'{"reason": "Warrant 2026/331", "date_of_birth": "1990-05-01"}'
            sealed: dict[str, bytes] = {}
            for blob_id, content in ((image_id, image), (template_id, template), (personal_id, personal)):
                key = blob_key(DataClass.WATCHLIST_MEDIA, DEPLOYMENT, blob_id)
                sealed[blob_id] = await self.ring.seal(DEPLOYMENT, DataClass.WATCHLIST_MEDIA, content,
                                                       key.encode())  # fmt: skip
                await self.blobs.put(key, sealed[blob_id])
                keys.append(key)
            details = EntryDetails(category=Category.WANTED_ON_WARRANT, reason="Warrant 2026/331",
                                   image_source=ImageSource.CUSTODY, approved_by="insp-1",
                                   age_band=AgeBand.ADULT)  # fmt: skip
            images = (
                EntryImage(image_blob_id=image_id, template_blob_id=template_id, taken_on=date(2025, 1, 10)),
            )
            reference = SealedRef(blob_id=personal_id, sha256=hashlib.sha256(sealed[personal_id]).hexdigest())
            watchlist.add_entry(f"entry-{index}", details, images, None, WatchlistPolicy(), sealed=reference,
                                actor="wlm-1", role="watchlist_manager", at=now)  # fmt: skip
        repository = EventSourcedRepository(Watchlist, WATCHLIST_EVENTS)
        async with self.watchlists_db.unit_of_work() as uow:
            await repository.save(uow.events, watchlist)
            await uow.commit()
        return keys

    async def match(self, track_id: str) -> tuple[str, str]:
        """Inference matched a face: a sealed real crop in the blob store, FaceMatched to alerts and
        retention. Returns (alert id, crop blob key)."""
        key = blob_key(DataClass.ALERT_MEDIA, DEPLOYMENT, new_blob_id())
        crop = self.face_jpegs[hash(track_id) % len(self.face_jpegs)]
        await self.blobs.put(key, await self.ring.seal(DEPLOYMENT, DataClass.ALERT_MEDIA, crop, key.encode()))
        at = self.clock.now()
        message = events.face_matched(
            deployment_id=DEPLOYMENT, track_id=track_id, watchlist_id=WATCHLIST, entry_id="entry-0",
            crop_blob_key=key, captured_at=at, at=at,
        )  # fmt: skip
        handler = face_matched_handler(self.alerts.ctx)
        assert await events.deliver(self.alerts.ctx.db, CONSUMER_NAME, handler, message)
        await self.deliver_to_retention("retention-inference", message)
        alert_id = (await self.alerts.ctx.db.reader().list_streams("alert"))[-1]
        return alert_id, key

    # Retention's consumers and the audit ledger ------------------------------------------------------

    async def deliver_to_retention(self, consumer: str, message: EventMessage) -> bool:
        """Exactly what the tracked EventConsumer does with one message."""
        handler = self.retention.handlers[consumer]
        return await events.deliver(self.retention.kit.db, consumer, handler, message)

    async def sync_retention(self) -> None:
        """Deliver every event of deployments, watchlists and alerts (redeliveries are skipped)."""
        databases = {"deployments": self.deployments_db, "watchlists": self.watchlists_db,
                     "alerts": self.alerts.kit.db}  # fmt: skip
        for service, db in databases.items():
            for stored in await db.reader().read_all(0, limit=100_000):
                await self.deliver_to_retention(
                    f"retention-{service}", EventMessage.from_stored(stored, service)
                )

    async def sync_ledger(self) -> None:
        """The audit service's recorder: every service's events, in each service's position order."""
        databases = {"deployments": self.deployments_db, "watchlists": self.watchlists_db,
                     "alerts": self.alerts.kit.db, "retention": self.retention.kit.db}  # fmt: skip
        for service, db in databases.items():
            await self.ledger.append_many(service, await db.reader().read_all(0, limit=100_000))

    async def blob_readable(self, key: str) -> bool:
        data_class, deployment_id, _ = key.split("/")
        try:
            sealed = await self.blobs.get(key)
            await self.ring.open_(deployment_id, data_class, sealed, key.encode())
        except (KeyDestroyed, KeyNotFound, LookupError):
            return False
        except Exception as error:  # BlobNotFound
            if getattr(error, "code", "") == "blob_not_found":
                return False
            raise
        return True


@asynccontextmanager
async def retention_env(data_dir: Path, face_jpegs: list[bytes]) -> AsyncIterator[RetentionEnv]:
    clock = ManualClock(WINDOW_START - timedelta(hours=20))
    deployments_db = SqlEventDatabase(f"sqlite+aiosqlite:///{data_dir / 'deployments.db'}", clock=clock)
    await deployments_db.migrate()
    async with deployments_db.engine.begin() as conn:  # the deployments service's migration makes it
        await conn.run_sync(data_keys_metadata.create_all)
    ring = KeyRing(MASTER_KEY, SqlWrappedKeyStore(deployments_db.engine))
    keys = await serve_data_keys(ring)

    watchlists_db = SqlEventDatabase(f"sqlite+aiosqlite:///{data_dir / 'watchlists.db'}", clock=clock)
    await watchlists_db.migrate()
    services = DeploymentServices(db=deployments_db, calibration=FakeCalibration(),
                                  watchlists=FakeWatchlists({WATCHLIST: summary()}),
                                  policy=GovernancePolicy(), clock=clock)  # fmt: skip
    world = World(build_bus(services), deployments_db, clock, services.watchlists, services.calibration)  # type: ignore[arg-type]

    alerts = build_alerts(AlertsSettings(data_dir=data_dir), clock=clock, keys=_NoKeys())
    await alerts.kit.start_database()
    await alerts.ctx.views.create_tables()

    shredder = GrpcKeyShredder.connect(keys.target, RetentionSettings(data_dir=data_dir))
    retention = build_retention(RetentionSettings(data_dir=data_dir), clock=clock, keys=shredder)
    await retention.start()

    ledger = SqlLedger(_engine(data_dir / "audit.db"))
    await ledger.open()
    env = RetentionEnv(data_dir, clock, ring, keys, FileBlobStore(data_dir / "blobs"), world,
                       deployments_db, watchlists_db, alerts, retention, ledger, face_jpegs)  # fmt: skip
    try:
        yield env
    finally:
        await shredder.close()
        await keys.stop()
        await ledger.close()
        for db in (retention.kit.db, alerts.kit.db, watchlists_db, deployments_db):
            await db.dispose()


def _engine(path: Path) -> Any:
    from sqlalchemy.ext.asyncio import create_async_engine

    return create_async_engine(f"sqlite+aiosqlite:///{path}")


class _NoKeys:
    """Alerts only fetch keys to show crops, which these tests never do."""

    async def data_key(self, deployment_id: str, data_class: str) -> bytes:
        raise AssertionError("not used")

    async def close(self) -> None:
        return None


def at_iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()
