"""The not-reviewed scheduler: every few seconds, alerts nobody reviewed in time become `not_reviewed`.

Time comes from the injected clock (tests move a ManualClock and call `tick`); the loop only sets the pace.
"""

from __future__ import annotations

import asyncio
import logging

from lfr_alerts.app.handlers import AlertsContext, expire_overdue

log = logging.getLogger(__name__)


class NotReviewedScheduler:
    def __init__(self, ctx: AlertsContext, interval_seconds: float) -> None:
        self._ctx = ctx
        self._interval = interval_seconds

    async def tick(self) -> list[str]:
        expired = await expire_overdue(self._ctx)
        if expired:
            log.info("alerts marked not reviewed: %d", len(expired))
        return expired

    async def run(self) -> None:
        while True:
            try:
                await self.tick()
            except Exception as error:  # a database hiccup must not end the scheduler
                log.warning("not-reviewed scan failed: %s", type(error).__name__)
            await asyncio.sleep(self._interval)
