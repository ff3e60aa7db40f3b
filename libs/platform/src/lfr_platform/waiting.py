"""Waiting with a time limit without losing a cancellation.

On Python 3.11 `asyncio.wait_for` swallows a `task.cancel()` that arrives just after the awaited thing
finished (CPython gh-86296, fixed in 3.12). A loop that sleeps on a wake-up event with it can then run
on after a shutdown cancelled it, and whoever stops it waits for its own time limit instead. The wake-up
and the shutdown often come together (the last request wakes the loop, then the service stops), so this
is not rare. `asyncio.timeout` waits in the calling task and has no such race.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable


async def wait_at_most(seconds: float, awaitable: Awaitable[object]) -> bool:
    """Await `awaitable` for at most `seconds`: True if it finished, False if time ran out (it is then
    cancelled). A cancellation of the caller always propagates."""
    limit = asyncio.timeout(seconds)
    try:
        async with limit:
            await awaitable
    except TimeoutError:
        if not limit.expired():
            raise  # the awaitable's own TimeoutError, not ours
        return False
    return True
