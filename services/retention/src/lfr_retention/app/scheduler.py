"""Runs enforcement every N seconds, and at once when woken (a deployment ended)."""

from __future__ import annotations

import asyncio

from lfr_platform.telemetry import get_logger
from lfr_platform.waiting import wait_at_most

from lfr_retention.app.enforcement import Enforcer

log = get_logger(__name__)


class EnforcementScheduler:
    def __init__(self, enforcer: Enforcer, interval_seconds: float) -> None:
        self._enforcer = enforcer
        self._interval = interval_seconds
        self._wake = asyncio.Event()
        self._wake_requested = False

    def wake(self) -> None:
        self._wake.set()

    def wake_after_commit(self) -> None:
        """Called inside a consumer's transaction: the run must see what that transaction writes."""
        self._wake_requested = True

    def committed(self) -> None:
        if self._wake_requested:
            self._wake_requested = False
            self._wake.set()

    async def run(self) -> None:
        while True:
            try:
                report = await self._enforcer.run()
                if report.issued or report.failed:
                    log.info("retention run", issued=len(report.issued), failed=len(report.failed))
            except Exception as error:  # the database may be briefly away: try again next time
                log.warning("retention run failed", error=str(error))
            await wait_at_most(self._interval, self._wake.wait())
            self._wake.clear()
