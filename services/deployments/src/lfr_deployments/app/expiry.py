"""Ends running deployments whose authorised window is over (`DeploymentEnded`, window_expired, by the
system). Time comes from the injected clock, so tests move a ManualClock instead of waiting."""

from __future__ import annotations

import asyncio
import logging

from lfr_platform.errors import LfrError

from lfr_deployments.app import commands as c
from lfr_deployments.app.handlers import DeploymentBus
from lfr_deployments.app.queries import due_to_expire
from lfr_deployments.domain.roles import SYSTEM

log = logging.getLogger(__name__)

SYSTEM_ACTOR = "system"


class WindowExpiry:
    def __init__(self, bus: DeploymentBus, interval_seconds: float) -> None:
        self._bus = bus
        self._interval = interval_seconds

    async def expire_due(self) -> list[str]:
        """One pass: the ids ended now. A deployment someone ended meanwhile is skipped, not an error."""
        services = self._bus.context
        ended: list[str] = []
        for deployment_id in await due_to_expire(services.db.reader(), services.clock.now()):
            try:
                await self._bus.handle(c.ExpireDeployment(actor=SYSTEM_ACTOR, role=SYSTEM,
                                                          deployment_id=deployment_id))
            except LfrError as error:
                log.info("expiry of %s skipped: %s", deployment_id, error.code)
                continue
            ended.append(deployment_id)
        return ended

    async def run(self) -> None:
        while True:
            try:
                ended = await self.expire_due()
                if ended:
                    log.info("window expired: ended %s", ", ".join(ended))
            except asyncio.CancelledError:
                raise
            except Exception as error:  # the database may be briefly away; try again next period
                log.warning("window expiry pass failed: %s", type(error).__name__)
            await asyncio.sleep(self._interval)
