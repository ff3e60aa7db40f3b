"""Wakes live streams when alert events commit, so an operator sees a match within milliseconds.

The wake-up is only a latency shortcut: streams read the event store itself (and poll it as a fallback),
so replicas that did not handle the event still deliver it.
"""

from __future__ import annotations

import asyncio

from lfr_platform.waiting import wait_at_most


class ChangeSignal:
    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        event, self._event = self._event, asyncio.Event()
        event.set()

    async def wait(self, seconds: float) -> None:
        """Return at the next notification, or after `seconds` (the poll fallback)."""
        await wait_at_most(seconds, self._event.wait())
