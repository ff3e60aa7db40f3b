"""Composition root of the audit service: the only place that builds engines, producers and clients.

The ledger lives in the audit service's own database (the ServiceKit's resolved URL, its own tables).
Background: the Kafka ledger consumer (started with the kit's messaging), the gap filler reading every
service's EventLog, and the periodic tree-head signer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from fastapi import APIRouter
from lfr_platform.clock import Clock, SystemClock
from lfr_platform.http import create_app
from lfr_platform.runtime import ServiceRuntime
from lfr_platform.service import ServiceKit

from lfr_audit.adapters.dead_letters import DeadLetters
from lfr_audit.adapters.eventlog_client import EventLogClient
from lfr_audit.adapters.ledger_engine import create_ledger_engine
from lfr_audit.adapters.ledger_sql import SqlLedger
from lfr_audit.app.gap_filler import GapFiller
from lfr_audit.app.oversight import Oversight
from lfr_audit.app.recorder import LedgerRecorder
from lfr_audit.app.reports import ReportBuilder
from lfr_audit.entrypoints.consumers.ledger_consumer import LedgerConsumer
from lfr_audit.entrypoints.http.ledger_routes import ledger_router
from lfr_audit.entrypoints.http.report_routes import report_router
from lfr_audit.settings import AuditSettings

TOPIC = "lfr.audit.events.v1"


@dataclass
class AuditComponents:
    """Everything the audit service is made of (tests drive these directly)."""

    settings: AuditSettings
    ledger: SqlLedger
    oversight: Oversight
    recorder: LedgerRecorder
    gap_filler: GapFiller
    dead_letters: DeadLetters
    clients: list[EventLogClient] = field(default_factory=list)

    async def open(self) -> None:
        await self.ledger.open()

    async def sign_periodically(self) -> None:
        while True:
            await self.oversight.sign_if_grown()
            await asyncio.sleep(self.settings.audit_tree_head_interval_seconds)

    async def close(self) -> None:
        for client in self.clients:
            await client.close()
        await self.dead_letters.close()
        await self.ledger.close()


def build_components(
    settings: AuditSettings, database_url: str, clock: Clock | None = None
) -> AuditComponents:
    ledger = SqlLedger(create_ledger_engine(database_url))
    dead_letters = DeadLetters(settings.kafka)
    targets = settings.source_targets()
    clients = [EventLogClient(name, target, settings) for name, target in targets.items()]
    recorder = LedgerRecorder(
        ledger,
        ordered_sources=targets,
        max_pending=settings.audit_max_pending_per_service,
        on_refused=dead_letters.send_refused,
    )
    gap_filler = GapFiller(
        recorder,
        {client.service: client for client in clients},
        interval=settings.audit_backfill_interval_seconds,
        grace=settings.audit_gap_grace_seconds,
    )
    oversight = Oversight(ledger=ledger, signer=settings.tree_head_signer(), clock=clock or SystemClock())
    return AuditComponents(
        settings=settings,
        ledger=ledger,
        oversight=oversight,
        recorder=recorder,
        gap_filler=gap_filler,
        dead_letters=dead_letters,
        clients=clients,
    )


def audit_router(parts: AuditComponents) -> APIRouter:
    router = APIRouter(prefix="/audit")
    router.include_router(ledger_router(parts.oversight, parts.settings.audit_sse_heartbeat_seconds))
    router.include_router(report_router(ReportBuilder(parts.ledger), parts.oversight.clock))
    return router


def build(settings: AuditSettings) -> ServiceRuntime:
    kit = ServiceKit(settings, router=lambda _stream_type: TOPIC)
    parts = build_components(settings, kit.database_url)
    kit.consumers.append(
        LedgerConsumer(parts.recorder, settings.kafka, settings.audit_topics, parts.dead_letters)
    )
    app = create_app(settings.service, [audit_router(parts)], kit.readiness_checks, settings)
    runtime = kit.runtime(app, background=[parts.gap_filler.run, parts.sign_periodically])
    runtime.on_start.append(parts.open)  # after the kit's database start: the ledger's tables
    runtime.on_stop.append(parts.close)
    return runtime
