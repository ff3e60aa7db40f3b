"""The ledger persisted with SQLAlchemy 2 async Core (SQLite via aiosqlite, PostgreSQL via asyncpg).

Tables belong to the audit service alone. `open()` runs `metadata.create_all` for now; Alembic
migrations replace that when the service gets its migration folder.

One process writes (the audit service is a single writer): an asyncio lock serialises appends, the
in-memory `Ledger` (chain head + Merkle levels) is rebuilt from the stored leaf hashes at `open()`, and
the primary key on `sequence` makes a second, accidental writer fail instead of forking the chain.
Appends are idempotent by (source_service, event_id): a redelivered or backfilled event is not recorded
twice. Times are stored as the canonical RFC 3339 UTC strings, which sort lexicographically, so range
queries behave the same on both databases.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
    select,
    tuple_,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from lfr_audit.domain.canonical import LedgerEntry, format_time
from lfr_audit.domain.chain import GENESIS_HASH
from lfr_audit.domain.export import encode_line
from lfr_audit.domain.ledger import Ledger, LedgerRecord
from lfr_audit.domain.tree_head import SignedTreeHead, TreeHeadSigner

metadata = MetaData()

ledger_entries = Table(
    "audit_ledger_entries",
    metadata,
    Column("sequence", BigInteger, primary_key=True, autoincrement=False),
    Column("source_service", String(64), nullable=False),
    Column("event_id", String(64), nullable=False),
    Column("source_position", BigInteger, nullable=False),
    Column("stream_id", String(255), nullable=False),
    Column("stream_type", String(128), nullable=False),
    Column("event_type", String(255), nullable=False),
    Column("deployment_id", String(255), nullable=True),
    Column("actor", String(255), nullable=True),
    Column("role", String(64), nullable=True),
    Column("occurred_at", String(32), nullable=False),
    Column("recorded_at", String(32), nullable=False),
    Column("canonical", LargeBinary, nullable=False),
    Column("entry_hash", LargeBinary(32), nullable=False),
    Column("leaf_hash", LargeBinary(32), nullable=False),
    UniqueConstraint("source_service", "event_id", name="uq_audit_ledger_source_event"),
    Index("ix_audit_ledger_deployment", "deployment_id", "sequence"),
    Index("ix_audit_ledger_event_type", "event_type", "sequence"),
    Index("ix_audit_ledger_actor", "actor", "sequence"),
    Index("ix_audit_ledger_role", "role", "sequence"),
    Index("ix_audit_ledger_occurred_at", "occurred_at"),
    Index("ix_audit_ledger_source_position", "source_service", "source_position"),
    Index("ix_audit_ledger_stream", "stream_id", "sequence"),
)

tree_heads = Table(
    "audit_tree_heads",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("tree_size", BigInteger, nullable=False, index=True),
    Column("root_hash", LargeBinary(32), nullable=False),
    Column("head_hash", LargeBinary(32), nullable=False),
    Column("timestamp", String(32), nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signature", LargeBinary(64), nullable=False),
)

# Rows per INSERT statement: well under SQLite's and asyncpg's parameter limits.
_INSERT_CHUNK = 500


@dataclass(frozen=True, kw_only=True)
class AppendResult:
    sequence: int
    entry_hash: bytes
    duplicate: bool


@dataclass(frozen=True, kw_only=True)
class LedgerQuery:
    """Oversight filters; every given filter must hold. Times are inclusive-exclusive [since, until)."""

    deployment_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    event_type: str | None = None
    actor: str | None = None
    role: str | None = None
    source_service: str | None = None
    stream_ids: tuple[str, ...] | None = None  # any of these streams (report folding follows alerts)


@dataclass(frozen=True, kw_only=True)
class LedgerRow:
    sequence: int
    entry_hash: str
    entry: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"sequence": self.sequence, "entry_hash": self.entry_hash, "entry": self.entry}


@dataclass(frozen=True, kw_only=True)
class LedgerPage:
    rows: list[LedgerRow]
    next_after: int | None  # pass as `after` for the next page; None when this is the last


class SqlLedger:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._ledger = Ledger()
        self._lock = asyncio.Lock()
        self._grown = asyncio.Condition()
        self._opened = False

    @property
    def size(self) -> int:
        return self._ledger.size

    @property
    def ledger(self) -> Ledger:
        return self._ledger

    @property
    def engine(self) -> AsyncEngine:
        return self._engine

    async def close(self) -> None:
        await self._engine.dispose()

    async def open(self) -> None:
        """Create the tables if missing and rebuild the chain head and Merkle levels from storage."""
        async with self._engine.begin() as conn:
            await conn.run_sync(metadata.create_all)
        async with self._engine.connect() as conn:
            leaf_hashes: list[bytes] = []
            result = await conn.stream(
                select(ledger_entries.c.sequence, ledger_entries.c.leaf_hash).order_by(
                    ledger_entries.c.sequence
                )
            )
            async for sequence, hashed in result:
                if sequence != len(leaf_hashes):
                    raise RuntimeError(f"ledger storage has a gap at sequence {len(leaf_hashes)}")
                leaf_hashes.append(bytes(hashed))
            head = GENESIS_HASH
            if leaf_hashes:
                head = bytes(
                    (
                        await conn.execute(
                            select(ledger_entries.c.entry_hash).where(
                                ledger_entries.c.sequence == len(leaf_hashes) - 1
                            )
                        )
                    ).scalar_one()
                )
        self._ledger = Ledger.resume(head, leaf_hashes)
        self._opened = True

    async def append(self, source_service: str, event: Any) -> AppendResult:
        """Record one stored event (an `lfr_platform.eventstore.StoredEvent`) from `source_service`."""
        return (await self.append_many(source_service, [event]))[0]

    async def append_many(self, source_service: str, events: Iterable[Any]) -> list[AppendResult]:
        """Record a batch in one transaction, in the given order (a service's position order)."""
        entries = [LedgerEntry.from_stored_event(source_service, event) for event in events]
        return await self.append_entries(entries)

    async def append_entries(self, entries: Sequence[LedgerEntry]) -> list[AppendResult]:
        if not self._opened:
            raise RuntimeError("call SqlLedger.open() first")
        async with self._lock:
            async with self._engine.begin() as conn:
                known = await self._existing(conn, entries)
                fresh: dict[tuple[str, str], LedgerEntry] = {}
                for entry in entries:
                    key = (entry.source_service, entry.event_id)
                    if key not in known and key not in fresh:
                        fresh[key] = entry
                records = self._ledger.prepare(fresh.values())
                for start in range(0, len(records), _INSERT_CHUNK):
                    chunk = records[start : start + _INSERT_CHUNK]
                    await conn.execute(ledger_entries.insert(), [_row(record) for record in chunk])
            # Only now, after the database committed (and still under the lock), does memory move on.
            self._ledger.commit(records)
        if records:
            async with self._grown:
                self._grown.notify_all()
        written = {key: (r.sequence, r.entry_hash) for key, r in zip(fresh, records, strict=True)}
        results: list[AppendResult] = []
        reported: set[tuple[str, str]] = set()
        for entry in entries:
            key = (entry.source_service, entry.event_id)
            sequence, entry_hash = known[key] if key in known else written[key]
            duplicate = key in known or key in reported
            reported.add(key)
            results.append(AppendResult(sequence=sequence, entry_hash=entry_hash, duplicate=duplicate))
        return results

    async def wait_for_growth(self, size: int) -> int:
        """Wait until the ledger holds more than `size` entries and return the new size (for a live
        stream: wrap in `asyncio.timeout` to send keep-alives)."""
        async with self._grown:
            await self._grown.wait_for(lambda: self._ledger.size > size)
        return self._ledger.size

    async def _existing(
        self, conn: AsyncConnection, entries: Sequence[LedgerEntry]
    ) -> dict[tuple[str, str], tuple[int, bytes]]:
        keys = sorted({(entry.source_service, entry.event_id) for entry in entries})
        found: dict[tuple[str, str], tuple[int, bytes]] = {}
        columns = ledger_entries.c
        for start in range(0, len(keys), _INSERT_CHUNK):
            chunk = keys[start : start + _INSERT_CHUNK]
            result = await conn.execute(
                select(columns.source_service, columns.event_id, columns.sequence, columns.entry_hash).where(
                    tuple_(columns.source_service, columns.event_id).in_(chunk)
                )
            )
            for service, event_id, sequence, entry_hash in result:
                found[(service, event_id)] = (sequence, bytes(entry_hash))
        return found

    async def sign_tree_head(self, signer: TreeHeadSigner, at: datetime) -> SignedTreeHead:
        """Sign the current size and store the head (the service calls this periodically and on export)."""
        async with self._lock:
            ledger = self._ledger
            head = signer.sign(ledger.size, ledger.tree.root(), ledger.head_hash, at)
            async with self._engine.begin() as conn:
                await conn.execute(
                    tree_heads.insert().values(
                        tree_size=head.tree_size,
                        root_hash=head.root_hash,
                        head_hash=head.head_hash,
                        timestamp=head.timestamp,
                        key_id=head.key_id,
                        signature=head.signature,
                    )
                )
        return head

    async def tree_heads(self, up_to_size: int | None = None) -> list[SignedTreeHead]:
        query = select(tree_heads).order_by(tree_heads.c.tree_size, tree_heads.c.id)
        if up_to_size is not None:
            query = query.where(tree_heads.c.tree_size <= up_to_size)
        async with self._engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [
            SignedTreeHead(
                tree_size=row["tree_size"],
                root_hash=bytes(row["root_hash"]),
                head_hash=bytes(row["head_hash"]),
                timestamp=row["timestamp"],
                key_id=row["key_id"],
                signature=bytes(row["signature"]),
            )
            for row in rows
        ]

    async def latest_tree_head(self) -> SignedTreeHead | None:
        query = select(tree_heads).order_by(tree_heads.c.tree_size.desc(), tree_heads.c.id.desc()).limit(1)
        return await self._one_head(query)

    async def first_tree_head_covering(self, size: int) -> SignedTreeHead | None:
        """The smallest signed head whose tree holds at least `size` entries (for inclusion proofs)."""
        query = (
            select(tree_heads)
            .where(tree_heads.c.tree_size >= size)
            .order_by(tree_heads.c.tree_size, tree_heads.c.id)
            .limit(1)
        )
        return await self._one_head(query)

    async def _one_head(self, query: Any) -> SignedTreeHead | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        if row is None:
            return None
        return SignedTreeHead(
            tree_size=row["tree_size"],
            root_hash=bytes(row["root_hash"]),
            head_hash=bytes(row["head_hash"]),
            timestamp=row["timestamp"],
            key_id=row["key_id"],
            signature=bytes(row["signature"]),
        )

    async def query(self, criteria: LedgerQuery, *, after: int | None = None, limit: int = 100) -> LedgerPage:
        """Keyset paging on sequence: pass the page's `next_after` to get the next page."""
        limit = max(1, min(limit, 1000))
        columns = ledger_entries.c
        conditions = []
        if after is not None:
            conditions.append(columns.sequence > after)
        for column, value in (
            (columns.deployment_id, criteria.deployment_id),
            (columns.event_type, criteria.event_type),
            (columns.actor, criteria.actor),
            (columns.role, criteria.role),
            (columns.source_service, criteria.source_service),
        ):
            if value is not None:
                conditions.append(column == value)
        if criteria.stream_ids is not None:
            if len(criteria.stream_ids) > _INSERT_CHUNK:
                raise ValueError(f"at most {_INSERT_CHUNK} stream ids per query")
            conditions.append(columns.stream_id.in_(criteria.stream_ids))
        if criteria.since is not None:
            conditions.append(columns.occurred_at >= format_time(criteria.since))
        if criteria.until is not None:
            conditions.append(columns.occurred_at < format_time(criteria.until))
        statement = (
            select(columns.sequence, columns.entry_hash, columns.canonical)
            .where(*conditions)
            .order_by(columns.sequence)
            .limit(limit + 1)
        )
        async with self._engine.connect() as conn:
            rows = (await conn.execute(statement)).all()
        page = [
            LedgerRow(sequence=seq, entry_hash=bytes(hashed).hex(), entry=json.loads(bytes(canonical)))
            for seq, hashed, canonical in rows[:limit]
        ]
        next_after = page[-1].sequence if len(rows) > limit else None
        return LedgerPage(rows=page, next_after=next_after)

    async def entry(self, sequence: int) -> LedgerRow | None:
        columns = ledger_entries.c
        async with self._engine.connect() as conn:
            row = (
                await conn.execute(
                    select(columns.sequence, columns.entry_hash, columns.canonical).where(
                        columns.sequence == sequence
                    )
                )
            ).first()
        if row is None:
            return None
        return LedgerRow(sequence=row[0], entry_hash=bytes(row[1]).hex(), entry=json.loads(bytes(row[2])))

    async def export_lines(self, tree_size: int | None = None, batch: int = 5000) -> AsyncIterator[bytes]:
        """The JSON Lines export of entries [0, tree_size), in sequence order, streamed in batches."""
        end = self._ledger.size if tree_size is None else tree_size
        columns = ledger_entries.c
        start = 0
        while start < end:
            stop = min(end, start + batch)
            async with self._engine.connect() as conn:
                rows = (
                    await conn.execute(
                        select(columns.sequence, columns.entry_hash, columns.canonical)
                        .where(columns.sequence >= start, columns.sequence < stop)
                        .order_by(columns.sequence)
                    )
                ).all()
            for sequence, entry_hash, canonical in rows:
                yield encode_line(sequence, bytes(entry_hash), bytes(canonical))
            start = stop

    def inclusion_proof(self, sequence: int, tree_size: int | None = None) -> list[bytes]:
        return self._ledger.tree.inclusion_proof(sequence, tree_size)

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        return self._ledger.tree.consistency_proof(first, second)

    async def source_high_water(self, source_service: str) -> int | None:
        """Highest source position recorded for a service: where a backfill from its store resumes."""
        columns = ledger_entries.c
        async with self._engine.connect() as conn:
            value = (
                await conn.execute(
                    select(func.max(columns.source_position)).where(columns.source_service == source_service)
                )
            ).scalar()
        return int(value) if value is not None else None

    async def source_positions(self, source_service: str, since: int = 0) -> list[int]:
        """Recorded source positions after `since` (ascending): lets backfill find holes, not just ends."""
        columns = ledger_entries.c
        async with self._engine.connect() as conn:
            result = await conn.execute(
                select(columns.source_position)
                .where(columns.source_service == source_service, columns.source_position > since)
                .order_by(columns.source_position)
            )
            return [int(value) for (value,) in result]


def _row(record: LedgerRecord) -> dict[str, Any]:
    entry = record.entry
    return {
        "sequence": record.sequence,
        "source_service": entry.source_service,
        "event_id": entry.event_id,
        "source_position": entry.source_position,
        "stream_id": entry.stream_id,
        "stream_type": entry.stream_type,
        "event_type": entry.event_type,
        "deployment_id": entry.deployment_id,
        "actor": entry.actor,
        "role": entry.role,
        "occurred_at": entry.occurred_at,
        "recorded_at": entry.recorded_at,
        "canonical": record.canonical,
        "entry_hash": record.entry_hash,
        "leaf_hash": record.leaf_hash,
    }
