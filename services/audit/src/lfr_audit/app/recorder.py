"""Records source events into the ledger in each service's own order, whichever way they arrive.

Events reach the audit service over Kafka (fast, but spread over partitions, so out of order, and lost if
the broker loses them) and from each service's EventLog over gRPC (the gap filler). Each service's store
numbers its events 1, 2, 3, ... gap-free in commit order, so the recorder keeps, per service, a
*watermark* (every position up to it is in the ledger) and holds back an event that arrives ahead of a
missing predecessor until the predecessor comes (from another partition, or from the gap filler). The
ledger therefore holds each service's events in position order, and `watermark` is where a backfill
resumes.

An event whose data carries biometric content is not recorded: in its place the ledger records an
`EventRefused` entry (source "audit": ids, type, reason and the SHA-256 of the refused data), which keeps
the refusal visible and verifiable and counts as "accounted for" for the watermark; the `on_refused` hook
then sends the original to the dead-letter topic.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field

from lfr_audit.adapters.ledger_sql import LedgerQuery, SqlLedger
from lfr_audit.domain.biometric_guard import find_biometric_content
from lfr_audit.domain.canonical import LedgerEntry, canonical_json

log = logging.getLogger(__name__)

AUDIT_SOURCE = "audit"
REFUSED_EVENT_TYPE = "EventRefused"
REFUSED_STREAM_TYPE = "RefusedEvent"
_REFUSAL_NAMESPACE = uuid.UUID("6f1b1b52-5d0e-4c83-9d36-1f6f4d0a3c11")

RefusalHook = Callable[[LedgerEntry, str], Awaitable[None]]


@dataclass
class SourceState:
    watermark: int = 0  # every position <= watermark is recorded (or refused)
    above: set[int] = field(default_factory=set)  # recorded positions beyond the watermark
    pending: dict[int, LedgerEntry] = field(default_factory=dict)  # waiting for a predecessor
    waiting_since: float | None = None  # loop time the oldest open gap was first seen
    needs_backfill: bool = False  # held-back events were dropped: read them again from the source

    def seen(self, position: int) -> bool:
        return position <= self.watermark or position in self.above or position in self.pending


class LedgerRecorder:
    def __init__(
        self,
        ledger: SqlLedger,
        *,
        ordered_sources: Iterable[str] = (),
        max_pending: int = 20_000,
        on_refused: RefusalHook | None = None,
    ) -> None:
        """`ordered_sources`: services the gap filler can read; for any other service a gap can never be
        filled, so its held-back events are recorded (in position order) by `flush_unordered`."""
        self._ledger = ledger
        self._ordered = set(ordered_sources)
        self._max_pending = max_pending
        self._on_refused = on_refused
        self._states: dict[str, SourceState] = {}
        self._lock = asyncio.Lock()
        self.gap_opened = asyncio.Event()  # the gap filler waits on this
        self.recorded = 0
        self.refused = 0
        self.dropped = 0

    @property
    def ledger(self) -> SqlLedger:
        return self._ledger

    async def watermark(self, service: str) -> int:
        async with self._lock:
            return (await self._state(service)).watermark

    def sources_with_gaps(self) -> dict[str, float]:
        """service -> loop time its oldest open gap was noticed (0.0: must be backfilled at once)."""
        gaps: dict[str, float] = {}
        for service, state in self._states.items():
            if state.needs_backfill:
                gaps[service] = 0.0
            elif state.waiting_since is not None:
                gaps[service] = state.waiting_since
        return gaps

    def backfilled(self, service: str) -> None:
        state = self._states.get(service)
        if state is not None:
            state.needs_backfill = False

    def has_pending(self, service: str) -> bool:
        state = self._states.get(service)
        return bool(state and state.pending)

    async def offer(
        self, entries: Sequence[LedgerEntry], *, complete_through: dict[str, int] | None = None
    ) -> int:
        """Record what can be recorded now; hold back the rest. Returns how many entries were appended.

        `complete_through[service] = p` says the caller read that service's log without holes up to
        position p (the gap filler does): a position up to p that is not among the entries does not exist.
        """
        async with self._lock:
            touched: set[str] = set()
            for entry in entries:
                state = await self._state(entry.source_service)
                if not state.seen(entry.source_position):
                    state.pending[entry.source_position] = entry
                touched.add(entry.source_service)
            for service in complete_through or {}:
                touched.add(service)
                await self._state(service)
            ready: list[LedgerEntry] = []
            refusals: list[tuple[LedgerEntry, str]] = []
            for service in sorted(touched):
                through = (complete_through or {}).get(service, 0)
                ready += self._drain(service, through, refusals)
            try:
                appended = await self._append(ready)
            except BaseException:
                self._forget(touched)
                raise
            for service in touched:
                self._note_gap(service)
        await self._report_refusals(refusals)
        return appended

    async def flush_unordered(self, service: str) -> int:
        """Record a service's held-back events in position order despite holes (no gap filler for it)."""
        async with self._lock:
            state = await self._state(service)
            refusals: list[tuple[LedgerEntry, str]] = []
            ready: list[LedgerEntry] = []
            for position in sorted(state.pending):
                entry = state.pending.pop(position)
                ready.append(self._checked(entry, refusals))
                state.above.add(position)
            self._advance(state)
            try:
                appended = await self._append(ready)
            except BaseException:
                self._forget({service})
                raise
            state.waiting_since = None
        await self._report_refusals(refusals)
        return appended

    # Internals ----------------------------------------------------------------------------------------

    def _drain(
        self, service: str, through: int, refusals: list[tuple[LedgerEntry, str]]
    ) -> list[LedgerEntry]:
        state = self._states[service]
        ready: list[LedgerEntry] = []
        while True:
            following = state.watermark + 1
            if following in state.pending:
                ready.append(self._checked(state.pending.pop(following), refusals))
            elif following in state.above:
                state.above.discard(following)
            elif following > through:
                break
            state.watermark = following
        if len(state.pending) > self._max_pending and service in self._ordered:
            # The source's store is the system of record: forget them, the gap filler reads them again.
            self.dropped += len(state.pending)
            log.warning(
                "audit: %d held-back %s events dropped; they will be backfilled", len(state.pending), service
            )
            state.pending.clear()
            state.needs_backfill = True
        return ready

    def _forget(self, services: Iterable[str]) -> None:
        """The append failed after the states moved on: reload them from the ledger next time (what was
        held back is read again from Kafka's redelivery or from the source's event log)."""
        for service in services:
            self._states.pop(service, None)

    def _advance(self, state: SourceState) -> None:
        while state.watermark + 1 in state.above:
            state.above.discard(state.watermark + 1)
            state.watermark += 1

    def _note_gap(self, service: str) -> None:
        state = self._states[service]
        if not state.pending:
            state.waiting_since = None
        elif state.waiting_since is None:
            state.waiting_since = asyncio.get_running_loop().time()
            self.gap_opened.set()
        if state.needs_backfill:
            self.gap_opened.set()

    def _checked(self, entry: LedgerEntry, refusals: list[tuple[LedgerEntry, str]]) -> LedgerEntry:
        problem = find_biometric_content(dict(entry.data))
        if problem is None:
            return entry
        refusals.append((entry, problem))
        return refusal_entry(entry, problem)

    async def _append(self, ready: list[LedgerEntry]) -> int:
        if not ready:
            return 0
        results = await self._ledger.append_entries(ready)
        fresh = sum(1 for result in results if not result.duplicate)
        self.recorded += fresh
        return fresh

    async def _report_refusals(self, refusals: list[tuple[LedgerEntry, str]]) -> None:
        for entry, problem in refusals:
            self.refused += 1
            log.error(
                "audit: refused %s %s from %s: %s",
                entry.event_type,
                entry.event_id,
                entry.source_service,
                problem,
            )
            if self._on_refused is not None:
                try:
                    await self._on_refused(entry, problem)
                except Exception as error:  # the ledger already records the refusal
                    log.warning("audit: dead-lettering %s failed: %s", entry.event_id, error)

    async def _state(self, service: str) -> SourceState:
        state = self._states.get(service)
        if state is None:
            state = await self._load_state(service)
            self._states[service] = state
        return state

    async def _load_state(self, service: str) -> SourceState:
        recorded = set(await self._ledger.source_positions(service, 0))
        recorded |= await self._refused_positions(service)
        state = SourceState(above=recorded)
        self._advance(state)
        return state

    async def _refused_positions(self, service: str) -> set[int]:
        positions: set[int] = set()
        criteria = LedgerQuery(source_service=AUDIT_SOURCE, event_type=REFUSED_EVENT_TYPE)
        after: int | None = None
        while True:
            page = await self._ledger.query(criteria, after=after, limit=1000)
            for row in page.rows:
                data = row.entry["data"]
                if data.get("source_service") == service:
                    positions.add(int(data["source_position"]))
            if page.next_after is None:
                return positions
            after = page.next_after


def refusal_entry(entry: LedgerEntry, problem: str) -> LedgerEntry:
    """What the ledger records instead of an event carrying biometric content: never the content."""
    digest = hashlib.sha256(canonical_json(dict(entry.data))).hexdigest()
    data: dict[str, object] = {
        "source_service": entry.source_service,
        "event_id": entry.event_id,
        "event_type": entry.event_type,
        "stream_id": entry.stream_id,
        "stream_type": entry.stream_type,
        "source_position": entry.source_position,
        "reason": problem,
        "data_sha256": digest,
    }
    deployment = entry.deployment_id
    if deployment is not None and find_biometric_content(deployment) is None and len(deployment) <= 255:
        data["deployment_id"] = deployment
    return LedgerEntry(
        source_service=AUDIT_SOURCE,
        event_id=str(uuid.uuid5(_REFUSAL_NAMESPACE, f"{entry.source_service}/{entry.event_id}")),
        stream_id=f"{entry.source_service}/{entry.event_id}",
        stream_type=REFUSED_STREAM_TYPE,
        version=1,
        source_position=entry.source_position,
        event_type=REFUSED_EVENT_TYPE,
        schema_version=1,
        data=data,
        metadata={"actor": entry.actor, "role": entry.role, "refused_by": "lfr-audit"},
        occurred_at=entry.occurred_at,
        recorded_at=entry.recorded_at,
    )
