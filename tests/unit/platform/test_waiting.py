"""`wait_at_most`: a loop sleeping on a wake-up event stops when cancelled, even when the wake-up and
the cancellation arrive together (what `asyncio.wait_for` loses on Python 3.11, CPython gh-86296)."""

from __future__ import annotations

import asyncio

import pytest
from lfr_platform.waiting import wait_at_most


async def test_returns_true_when_the_awaitable_finishes_and_false_when_time_runs_out() -> None:
    event = asyncio.Event()
    assert await wait_at_most(0.01, event.wait()) is False
    event.set()
    assert await wait_at_most(10, event.wait()) is True


async def test_the_awaitables_own_timeout_error_is_not_mistaken_for_ours() -> None:
    async def fails() -> None:
        raise TimeoutError("from the awaited thing")

    with pytest.raises(TimeoutError, match="from the awaited thing"):
        await wait_at_most(10, fails())


@pytest.mark.parametrize("yields_between", range(5))
async def test_a_wake_up_loop_is_cancelled_even_right_after_a_wake_up(yields_between: int) -> None:
    wake = asyncio.Event()
    passes = 0

    async def loop() -> None:
        nonlocal passes
        while True:
            await wait_at_most(60, wake.wait())
            wake.clear()
            passes += 1

    task = asyncio.create_task(loop())
    await asyncio.sleep(0)  # the loop now waits
    wake.set()
    for _ in range(yields_between):  # the cancel lands at each point of the wake-up's hand-over
        await asyncio.sleep(0)
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=10)  # only bounds a failure
    assert task in done and task.cancelled(), f"the loop went on ({passes} passes) after cancel()"
