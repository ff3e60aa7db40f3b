"""The plumbing every service shares, assembled once: its event database, the outbox relay, Kafka
consumers, the EventLog gRPC service, readiness checks and start/stop order.

A service's `bootstrap.py` builds a `ServiceKit`, adds its consumers and gRPC servicers, creates its FastAPI
app with `kit.readiness_checks`, and returns `kit.runtime(app)`; its `__main__` calls `run_service`.

    kit = ServiceKit(settings, router=lambda st: TOPIC if st == "deployment" else None, topics=[...])
    kit.add_consumer("deployments.watchlist-summary", on_watchlist_event, ["lfr.watchlists.events.v1"])
    app = create_app("deployments", [router], kit.readiness_checks, settings)
    return kit.runtime(app, grpc=[register_keys])
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar
from uuid import UUID

from aiokafka import AIOKafkaProducer

from lfr_platform.eventlog_grpc import eventlog_registrar
from lfr_platform.eventstore.database import database_url_for, ensure_database
from lfr_platform.eventstore.ports import EventDatabase, TopicRouter, UnitOfWork
from lfr_platform.eventstore.sql import SqlEventDatabase
from lfr_platform.http.health import ReadinessCheck
from lfr_platform.messaging.broker import broker_answers
from lfr_platform.messaging.consumer import EventConsumer, EventHandler, RawConsumer, RawHandler
from lfr_platform.messaging.relay import OutboxRelay
from lfr_platform.messaging.topics import TopicSpec
from lfr_platform.runtime import GrpcRegistrar, ServiceRuntime, Task, serve
from lfr_platform.settings import ConfigurationError, ServiceSettings
from lfr_platform.telemetry import configure_logging, get_logger

log = get_logger(__name__)

S = TypeVar("S", bound=ServiceSettings)

BROKER_RETRY_MAX_S = 5.0


class _NotifyingUnitOfWork:
    """Wraps a unit of work so a commit wakes the relay: an event reaches Kafka in milliseconds, which is
    what makes a Silver Commander's halt stop processing within a second."""

    def __init__(self, inner: UnitOfWork, on_commit: Callable[[], None]) -> None:
        self._inner = inner
        self._on_commit = on_commit

    async def __aenter__(self) -> Self:
        await self._inner.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self._inner.__aexit__(exc_type, exc, tb)

    @property
    def events(self) -> Any:
        return self._inner.events

    @property
    def connection(self) -> Any:
        return self._inner.connection

    async def commit(self) -> None:
        await self._inner.commit()
        self._on_commit()

    async def rollback(self) -> None:
        await self._inner.rollback()

    async def mark_processed(self, consumer: str, event_id: UUID) -> bool:
        return await self._inner.mark_processed(consumer, event_id)


class NotifyingDatabase:
    """An EventDatabase whose units of work call `on_commit` after each commit."""

    def __init__(self, inner: EventDatabase, on_commit: Callable[[], None]) -> None:
        self.inner = inner
        self.outbox = inner.outbox
        self._on_commit = on_commit

    def unit_of_work(self) -> _NotifyingUnitOfWork:
        return _NotifyingUnitOfWork(self.inner.unit_of_work(), self._on_commit)

    def reader(self) -> Any:
        return self.inner.reader()

    async def migrate(self) -> None:
        await self.inner.migrate()

    async def ping(self) -> None:
        await self.inner.ping()

    async def dispose(self) -> None:
        await self.inner.dispose()


def service_database_url(settings: ServiceSettings) -> str:
    """The service's own database: LFR_DATABASE_URL, else its SQLite file under the data directory."""
    if settings.database_url is None:
        return database_url_for(settings.service, None, settings.data_dir)
    return settings.resolved_database_url


class ServiceKit:
    def __init__(
        self,
        settings: ServiceSettings,
        *,
        router: TopicRouter,
        topics: Sequence[TopicSpec] = (),
        database: EventDatabase | None = None,
    ) -> None:
        self.settings = settings
        self.database_url = service_database_url(settings)
        self._raw_db: EventDatabase = database or SqlEventDatabase(self.database_url, router=router)
        self._topics = list(topics)
        self.producer: AIOKafkaProducer | None = None
        self.relay: OutboxRelay | None = None
        self.db = NotifyingDatabase(self._raw_db, self._wake_relay)
        self.consumers: list[EventConsumer | RawConsumer] = []
        self.background: list[Task] = []
        self.broker_connected = asyncio.Event()

    def _wake_relay(self) -> None:
        if self.relay is not None:
            self.relay.wake()

    # Wiring -------------------------------------------------------------------------------------------

    def add_consumer(
        self, name: str, handler: EventHandler, topics: Sequence[str], **kwargs: Any
    ) -> EventConsumer:
        consumer = EventConsumer(name, handler, self.db, self.settings.kafka, topics=topics, **kwargs)
        self.consumers.append(consumer)
        return consumer

    def add_raw_consumer(
        self, name: str, handler: RawHandler, topics: Sequence[str], **kwargs: Any
    ) -> RawConsumer:
        consumer = RawConsumer(name, handler, self.settings.kafka, topics=topics, **kwargs)
        self.consumers.append(consumer)
        return consumer

    @property
    def readiness_checks(self) -> list[ReadinessCheck]:
        return [
            ReadinessCheck("database", self._check_database),
            ReadinessCheck("broker", self._check_broker),
        ]

    async def _check_database(self) -> None:
        await self.db.ping()

    async def _check_broker(self) -> None:
        if not self.broker_connected.is_set():
            raise RuntimeError("not yet connected to the Kafka broker")
        if not await broker_answers(self.settings.kafka.bootstrap_servers, wait_seconds=1.5):
            raise RuntimeError("the Kafka broker does not answer")

    # Lifecycle ----------------------------------------------------------------------------------------

    async def start_database(self) -> None:
        await ensure_database(self.database_url)
        await self.db.migrate()

    async def _connect_messaging(self) -> None:
        """Runs in the background so HTTP (liveness) is up while the broker is still unreachable; readiness
        stays red until it connects."""
        delay = 0.2
        while True:
            producer = AIOKafkaProducer(**self.settings.kafka.producer_kwargs())
            try:
                await producer.start()
                break
            except Exception as error:
                log.warning("kafka producer cannot start yet", error=type(error).__name__, retry_in=delay)
                with contextlib.suppress(Exception):
                    await producer.stop()
                await asyncio.sleep(delay)
                delay = min(delay * 2, BROKER_RETRY_MAX_S)
        self.producer = producer
        self.relay = OutboxRelay(
            self._raw_db,
            producer,
            self.settings.service,
            kafka=self.settings.kafka,
            topics=self._topics,
            poll_interval=0.5,
        )
        await self.relay.start()
        for consumer in self.consumers:
            await consumer.start()
        self.broker_connected.set()
        log.info("messaging connected", service=self.settings.service, consumers=len(self.consumers))
        await asyncio.Event().wait()  # keep the task alive; stop() tears down

    async def stop(self) -> None:
        for consumer in reversed(self.consumers):
            with contextlib.suppress(Exception):
                await consumer.stop()
        if self.relay is not None:
            with contextlib.suppress(Exception):
                await self.relay.stop()
        if self.producer is not None:
            with contextlib.suppress(Exception):
                await self.producer.stop()
        await self.db.dispose()

    def runtime(
        self,
        app: Any,
        *,
        grpc: Sequence[GrpcRegistrar] = (),
        grpc_service_names: Sequence[str] = (),
        background: Sequence[Task] = (),
    ) -> ServiceRuntime:
        name = self.settings.service
        return ServiceRuntime(
            name=name,
            app=app,
            grpc_registrars=[eventlog_registrar(name, self.db), *grpc],
            grpc_service_names=["lfr.eventlog.v1.EventLog", *grpc_service_names],
            background=[self._connect_messaging, *self.background, *background],
            on_start=[self.start_database],
            on_stop=[self.stop],
        )


def run_service(settings_cls: type[S], build: Callable[[S], ServiceRuntime]) -> None:
    """`python -m lfr_<service>`: load settings (fail fast, readable), build, serve until SIGTERM."""
    try:
        settings = settings_cls.load()
    except ConfigurationError as error:
        raise SystemExit(str(error)) from None
    configure_logging(settings.service, settings.log_level)
    try:
        runtime = build(settings)  # a peer channel refused (plaintext outside loopback) stops it here
        exit_code = asyncio.run(
            serve(
                runtime,
                host=settings.http_host,
                http_port=settings.http_port,
                grpc_port=settings.grpc_port or None,
            )
        )
    except ConfigurationError as error:  # or serve's: a production gRPC server without mutual TLS
        raise SystemExit(str(error)) from None
    raise SystemExit(exit_code)
