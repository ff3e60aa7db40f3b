"""Backfills the ledger from each service's own event log: what Kafka never delivered (a broker that lost
its memory, a consumer that skipped past a truncated partition, a stream that is not published at all).

On start, every `interval` seconds, and whenever the recorder holds back an event for longer than `grace`
seconds (a predecessor is missing), it reads the service's EventLog from the recorder's watermark onwards
and offers the events to the recorder, which appends them in position order. A service without an
EventLog target cannot be backfilled: its held-back events are recorded as they are after `grace`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Mapping
from typing import Protocol

from lfr_audit.adapters.eventlog_client import EventLogPage
from lfr_audit.app.recorder import LedgerRecorder

log = logging.getLogger(__name__)

PAGE = 1000


class EventSource(Protocol):
    async def read(
        self, after_position: int, limit: int = PAGE, deadline_s: float = 10.0
    ) -> EventLogPage: ...


class GapFiller:
    def __init__(
        self,
        recorder: LedgerRecorder,
        sources: Mapping[str, EventSource],
        *,
        interval: float = 30.0,
        grace: float = 0.5,
    ) -> None:
        self._recorder = recorder
        self._sources = dict(sources)
        self._interval = interval
        self._grace = grace
        self.backfilled = 0
        self.rounds = 0
        self.failures = 0

    async def fill(self, service: str) -> int:
        """Read `service`'s log from the watermark to its end; returns how many entries were appended."""
        source = self._sources.get(service)
        if source is None:
            return await self._recorder.flush_unordered(service)
        appended = 0
        while True:
            after = await self._recorder.watermark(service)
            page = await source.read(after, PAGE)
            if not page.entries:
                break
            through = page.entries[-1].source_position
            appended += await self._recorder.offer(page.entries, complete_through={service: through})
            if through >= page.last_position or await self._recorder.watermark(service) <= after:
                break
        self._recorder.backfilled(service)
        self.backfilled += appended
        if appended:
            log.info("audit: backfilled %d %s events from its event log", appended, service)
        return appended

    async def fill_all(self) -> int:
        total = 0
        for service in sorted(set(self._sources) | set(self._recorder.sources_with_gaps())):
            total += await self._fill_quietly(service)
        self.rounds += 1
        return total

    async def _fill_quietly(self, service: str) -> int:
        try:
            return await self.fill(service)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a service that is down is read again next round
            self.failures += 1
            log.warning("audit: backfill from %s failed: %s: %s", service, type(error).__name__, error)
            return 0

    async def run(self) -> None:
        """The background task: a full round at start and every `interval`, gaps after `grace`."""
        loop = asyncio.get_running_loop()
        next_round = loop.time()
        while True:
            self._recorder.gap_opened.clear()  # before looking, so a gap noticed from now on wakes us
            now = loop.time()
            if now >= next_round:
                await self.fill_all()
                next_round = loop.time() + self._interval
                continue
            gaps = self._recorder.sources_with_gaps()
            due = [service for service, since in gaps.items() if now - since >= self._grace]
            for service in due:
                await self._fill_quietly(service)
            wake_at = min([next_round, *(since + self._grace for since in gaps.values())])
            if due:  # a failed fill must not spin: wait at least a grace period before the next try
                wake_at = max(wake_at, loop.time() + max(self._grace, 0.1))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(wake_at - loop.time(), 0.01)):
                    await self._recorder.gap_opened.wait()
