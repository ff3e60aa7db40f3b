"""The recorder and the gap filler against a real producer service (SQLite store + EventLog gRPC):
each service's events land in the ledger in position order whatever order they arrive in, duplicates
are recognised, gaps are read back from the source, and biometric content is refused, not recorded."""

from __future__ import annotations

import base64
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from lfr_audit.adapters.eventlog_client import EventLogClient
from lfr_audit.adapters.ledger_engine import create_ledger_engine
from lfr_audit.adapters.ledger_sql import LedgerQuery, SqlLedger
from lfr_audit.app.gap_filler import GapFiller
from lfr_audit.app.recorder import REFUSED_EVENT_TYPE, LedgerRecorder
from lfr_audit.domain.canonical import LedgerEntry
from lfr_platform.messaging.wire import EventMessage
from lfr_platform.settings import ServiceSettings

from ._producer import INTERNAL, ProducerService, ledger_positions, start_producer

SERVICE = "alerts"


@pytest.fixture
async def producer(tmp_path: Path) -> AsyncIterator[ProducerService]:
    service = await start_producer(tmp_path, SERVICE, "lfr.alerts.events.v1")
    try:
        yield service
    finally:
        await service.close()


@pytest.fixture
async def ledger(ledger_url: str) -> AsyncIterator[SqlLedger]:
    ledger = SqlLedger(create_ledger_engine(ledger_url))
    await ledger.open()
    try:
        yield ledger
    finally:
        await ledger.close()


def as_kafka_entry(producer: ProducerService, position: int) -> LedgerEntry:
    """The entry the Kafka path builds: from the EventMessage the relay would publish."""
    message = EventMessage.from_stored(producer.committed[position - 1], producer.name)
    return LedgerEntry.from_stored_event(message.source, EventMessage.from_bytes(message.to_bytes()))


async def test_out_of_order_arrivals_wait_and_gaps_are_backfilled_in_order(
    producer: ProducerService, ledger: SqlLedger
) -> None:
    for i in range(30):
        await producer.append(f"alert-{i % 4}", stream_type=INTERNAL if i % 7 == 3 else "alert")
    recorder = LedgerRecorder(ledger, ordered_sources=[SERVICE])
    client = EventLogClient(SERVICE, producer.target, ServiceSettings())
    try:
        appended = await recorder.offer([as_kafka_entry(producer, p) for p in (5, 3, 9, 1, 2)])
        assert appended == 3  # 1, 2, 3; 5 and 9 wait for 4 and 6-8
        assert await ledger_positions(ledger, SERVICE) == [1, 2, 3]
        assert recorder.sources_with_gaps().keys() == {SERVICE}

        filler = GapFiller(recorder, {SERVICE: client}, grace=0)
        assert await filler.fill(SERVICE) == 27
        assert await ledger_positions(ledger, SERVICE) == list(range(1, 31))
        assert recorder.sources_with_gaps() == {}

        # Redeliveries (Kafka after a broker restart) and a second backfill add nothing.
        assert await recorder.offer([as_kafka_entry(producer, p) for p in (5, 30, 1)]) == 0
        assert await filler.fill(SERVICE) == 0
        assert ledger.size == 30

        # The same event by either path is the same entry: the Kafka and gRPC envelopes agree byte for byte.
        page = await ledger.query(LedgerQuery(source_service=SERVICE), limit=30)
        assert [row.entry for row in page.rows[:3]] == [
            as_kafka_entry(producer, p).as_payload() for p in (1, 2, 3)
        ]
        fetched = (await client.read(0, 30)).entries
        assert [e.canonical_bytes() for e in fetched] == [as_kafka_entry(producer, p).canonical_bytes()
                                                         for p in range(1, 31)]  # fmt: skip

        # A restarted recorder resumes from what the ledger holds.
        restarted = LedgerRecorder(ledger, ordered_sources=[SERVICE])
        assert await restarted.watermark(SERVICE) == 30
    finally:
        await client.close()


async def test_an_event_carrying_biometric_content_is_refused_and_dead_lettered(
    producer: ProducerService, ledger: SqlLedger
) -> None:
    dead: list[tuple[str, str]] = []

    async def dead_letter(entry: LedgerEntry, problem: str) -> None:  # the hook the DLQ producer plugs into
        dead.append((entry.event_id, problem))

    await producer.append("alert-1")
    crop = base64.b64encode(os.urandom(2048)).decode()
    bad = await producer.append("alert-1", {"deployment_id": "dep-1", "crop": crop}, event_type="AlertRaised")
    await producer.append("alert-1")
    recorder = LedgerRecorder(ledger, ordered_sources=[SERVICE], on_refused=dead_letter)
    assert await recorder.offer([as_kafka_entry(producer, p) for p in (1, 2, 3)]) == 3

    assert [event_id for event_id, _ in dead] == [str(bad.event_id)]
    assert "data.crop" in dead[0][1]
    page = await ledger.query(LedgerQuery(), limit=10)
    types = [(row.entry["source_service"], row.entry["event_type"]) for row in page.rows]
    assert types == [(SERVICE, "ThingHappened"), ("audit", REFUSED_EVENT_TYPE), (SERVICE, "ThingHappened")]
    refusal = page.rows[1].entry
    assert refusal["data"]["event_id"] == str(bad.event_id) and refusal["data"]["source_position"] == 2
    assert refusal["data"]["deployment_id"] == "dep-1"
    assert crop not in str(page.rows)  # the ledger never holds the content, only its hash
    assert len(refusal["data"]["data_sha256"]) == 64

    # The refusal accounts for position 2: a restarted recorder does not try to fetch it again.
    restarted = LedgerRecorder(ledger, ordered_sources=[SERVICE], on_refused=dead_letter)
    assert await restarted.watermark(SERVICE) == 3
    assert await restarted.offer([as_kafka_entry(producer, 2)]) == 0
    assert len(dead) == 1
