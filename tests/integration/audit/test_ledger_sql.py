"""The SQL ledger on real SQLite and PostgreSQL: idempotent appends, restart, queries, export, proofs."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from uuid import UUID, uuid4

import pytest
from lfr_audit.adapters.ledger_sql import LedgerQuery, SqlLedger
from lfr_audit.domain.export import decode_line
from lfr_audit.domain.merkle import leaf_hash, verify_consistency, verify_inclusion
from lfr_audit.domain.verify import verify_export
from lfr_platform.eventstore.model import EventMetadata, StoredEvent
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.unit.audit.factories import signer

T0 = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)


def stored(
    position: int,
    *,
    stream_type: str = "Alert",
    stream_id: str = "alert-1",
    event_type: str = "AlertRaised",
    data: dict[str, object] | None = None,
    actor: str = "officer-1",
    role: str = "operator",
    event_id: UUID | None = None,
) -> StoredEvent:
    return StoredEvent(
        position=position,
        stream_id=stream_id,
        stream_type=stream_type,
        version=position,
        event_id=event_id or uuid4(),
        event_type=event_type,
        schema_version=1,
        data=data if data is not None else {"deployment_id": "dep-a", "crop_blob_id": "blob-1"},
        metadata=EventMetadata(actor=actor, role=role, correlation_id="req-1"),
        occurred_at=T0 + timedelta(minutes=position),
        recorded_at=T0 + timedelta(minutes=position, milliseconds=5),
    )


async def opened(engine: AsyncEngine) -> SqlLedger:
    ledger = SqlLedger(engine)
    await ledger.open()
    return ledger


async def test_appends_are_gap_free_and_idempotent_per_source_event(engine: AsyncEngine) -> None:
    ledger = await opened(engine)
    first = stored(1)
    again = await ledger.append("alerts", first)
    assert (again.sequence, again.duplicate) == (0, False)
    redelivered = await ledger.append("alerts", first)
    assert (redelivered.sequence, redelivered.duplicate, redelivered.entry_hash) == (
        0,
        True,
        again.entry_hash,
    )
    # The same event id from another service is another event.
    other = await ledger.append("deployments", first)
    assert (other.sequence, other.duplicate) == (1, False)
    second = stored(2)
    results = await ledger.append_many("alerts", [second, first, second, stored(3)])
    assert [(r.sequence, r.duplicate) for r in results] == [(2, False), (0, True), (2, True), (3, False)]
    assert ledger.size == 4
    assert await ledger.source_high_water("alerts") == 3
    assert await ledger.source_positions("alerts", since=1) == [2, 3]
    assert await ledger.source_high_water("retention") is None


async def test_a_restarted_ledger_resumes_the_same_chain_and_tree(engine: AsyncEngine) -> None:
    ledger = await opened(engine)
    key = signer()
    await ledger.append_many("alerts", [stored(i) for i in range(1, 8)])
    first_head = await ledger.sign_tree_head(key, T0)
    restarted = await opened(engine)
    assert restarted.size == 7
    assert restarted.ledger.head_hash == ledger.ledger.head_hash
    assert restarted.ledger.tree.root() == first_head.root_hash
    await restarted.append_many("inference", [stored(i, stream_type="Sighting") for i in range(1, 6)])
    second_head = await restarted.sign_tree_head(key, T0 + timedelta(hours=1))
    heads = await restarted.tree_heads()
    assert [h.tree_size for h in heads] == [7, 12]
    lines = [line async for line in restarted.export_lines(second_head.tree_size, batch=5)]
    assert len(lines) == 12
    entries = [decode_line(number, line) for number, line in enumerate(lines, start=1)]
    report = verify_export(entries, heads, key.public_key)
    assert report.ok, report
    assert report.verified_tree_heads == 2
    proof = restarted.consistency_proof(7, 12)
    assert verify_consistency(7, 12, first_head.root_hash, second_head.root_hash, proof)
    row = await restarted.entry(9)
    assert row is not None and row.entry["source_service"] == "inference"
    leaf = leaf_hash(entries[9].canonical)
    assert verify_inclusion(9, 12, leaf, restarted.inclusion_proof(9, 12), second_head.root_hash)


async def test_queries_filter_and_page_by_keyset(engine: AsyncEngine) -> None:
    ledger = await opened(engine)
    events = []
    for i in range(1, 31):
        if i % 3 == 0:  # deployment streams carry their id as the stream id
            event = stored(i, stream_type="Deployment", stream_id="dep-b", event_type="DeploymentHalted",
                           data={"reason": "crowd"}, actor="silver-1", role="silver_commander")  # fmt: skip
        else:
            event = stored(i, data={"deployment_id": "dep-a" if i % 2 else "dep-b"})
        events.append(event)
    await ledger.append_many("mixed", events)

    async def all_pages(criteria: LedgerQuery, limit: int) -> list[int]:
        sequences: list[int] = []
        after = None
        while True:
            page = await ledger.query(criteria, after=after, limit=limit)
            sequences += [row.sequence for row in page.rows]
            if page.next_after is None:
                return sequences
            after = page.next_after

    dep_b = await all_pages(LedgerQuery(deployment_id="dep-b"), limit=4)
    assert dep_b == [i - 1 for i in range(1, 31) if i % 3 == 0 or i % 2 == 0]
    halts = await all_pages(LedgerQuery(event_type="DeploymentHalted", role="silver_commander"), limit=3)
    assert halts == [i - 1 for i in range(3, 31, 3)]
    assert await all_pages(LedgerQuery(actor="silver-1", deployment_id="dep-a"), limit=10) == []
    window = LedgerQuery(since=T0 + timedelta(minutes=5), until=T0 + timedelta(minutes=9))
    assert await all_pages(window, limit=2) == [4, 5, 6, 7]
    assert await all_pages(LedgerQuery(), limit=7) == list(range(30))
    page = await ledger.query(LedgerQuery(deployment_id="dep-a"), limit=1)
    assert page.rows[0].entry["data"]["deployment_id"] == "dep-a"
    assert page.rows[0].entry["metadata"]["actor"] == "officer-1"


async def test_an_empty_ledger_signs_and_exports_a_verifiable_head(engine: AsyncEngine) -> None:
    ledger = await opened(engine)
    key = signer()
    head = await ledger.sign_tree_head(key, T0)
    assert head.tree_size == 0
    lines = [line async for line in ledger.export_lines()]
    assert lines == []
    assert verify_export([], await ledger.tree_heads(), key.public_key).ok


async def test_a_live_reader_is_woken_by_an_append(engine: AsyncEngine) -> None:
    ledger = await opened(engine)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(ledger.wait_for_growth(0), 0.05)
    waiter = asyncio.create_task(ledger.wait_for_growth(0))
    await ledger.append("alerts", stored(1))
    assert await asyncio.wait_for(waiter, 30) == 1
    page = await ledger.query(LedgerQuery(), after=None)
    assert [row.sequence for row in page.rows] == [0]
