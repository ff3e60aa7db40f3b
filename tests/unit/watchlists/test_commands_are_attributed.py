"""Every watchlist command produces events carrying the actor and role that sent it."""

from __future__ import annotations

import pytest
from lfr_watchlists.app import commands as c
from lfr_watchlists.app.handlers import HANDLERS

from tests.unit._attribution import Scenarios, assert_attributed

from .conftest import DEPLOYMENT, WATCHLIST, World, add, image

SCENARIOS: Scenarios[World] = Scenarios()
scenario = SCENARIOS.register


@scenario(c.CreateWatchlist)
async def _create(w: World) -> c.Command:
    return c.CreateWatchlist(actor="dc-1", role="watchlist_manager", watchlist_id=WATCHLIST,
                             deployment_id=DEPLOYMENT, name="n")


@scenario(c.AddWatchlistEntry)
async def _add(w: World) -> c.Command:
    await w.created()
    return add("e-9", images=(image("zed"),), actor=("dc-2", "watchlist_manager"))


@scenario(c.RemoveWatchlistEntry)
async def _remove(w: World) -> c.Command:
    await w.with_alice()
    return c.RemoveWatchlistEntry(actor="dc-3", role="watchlist_manager", watchlist_id=WATCHLIST,
                                  entry_id="e-alice", reason="located")


@scenario(c.FreezeWatchlist)
async def _freeze(w: World) -> c.Command:
    await w.with_alice()
    return c.FreezeWatchlist(actor="supt-ao", role="authorising_officer", watchlist_id=WATCHLIST,
                             deployment_id=DEPLOYMENT, revision=1)


@scenario(c.ReopenWatchlist)
async def _reopen(w: World) -> c.Command:
    await w.frozen()
    return c.ReopenWatchlist(actor="insp-2", role="silver_commander", watchlist_id=WATCHLIST, reason="r")


@scenario(c.PurgeWatchlist)
async def _purge(w: World) -> c.Command:
    await w.with_alice()
    return c.PurgeWatchlist(actor="retention-svc", role="system", watchlist_id=WATCHLIST, reason="ended")


def test_every_command_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(HANDLERS)


@pytest.mark.parametrize("command_type", list(SCENARIOS), ids=lambda t: t.__name__)
async def test_every_command_records_actor_and_role(world: World, command_type: type) -> None:
    await assert_attributed(world, await SCENARIOS[command_type](world))
