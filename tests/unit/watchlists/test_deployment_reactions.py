"""The watchlist follows its deployment: real deployment events (from the deployments service's own
handlers on the in-memory store) freeze it at the authorised revision and reopen it on a lapse."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from lfr_deployments.app import commands as dc
from lfr_deployments.app.handlers import DeploymentServices
from lfr_deployments.app.handlers import build_bus as build_deployment_bus
from lfr_deployments.domain import form1 as f
from lfr_deployments.domain.watchlist_summary import SummaryEntry
from lfr_deployments.domain.watchlist_summary import WatchlistSummary as DeploymentView
from lfr_platform.clock import ManualClock
from lfr_platform.errors import DomainRuleViolation
from lfr_platform.eventstore import InMemoryEventDatabase
from lfr_watchlists.app.queries import watchlist_summary
from lfr_watchlists.app.reactions import command_for_deployment_event

from .conftest import DEPLOYMENT, WATCHLIST, World, add, image

START = datetime(2026, 11, 23, 8, tzinfo=UTC)


class InProcessSummaries:
    """Test bridge: the deployments port answered by the watchlists query (gRPC in phase 2)."""

    def __init__(self, world: World) -> None:
        self._world = world

    async def summary(self, watchlist_id: str, on: date) -> DeploymentView:
        # Ages are the bands as listed (the events hold no date of birth), so `on` changes nothing.
        s = await watchlist_summary(self._world.db.reader(), watchlist_id)
        return DeploymentView(
            watchlist_id=s.watchlist_id, deployment_id=s.deployment_id, version=s.version, frozen=s.frozen,
            entries=tuple(SummaryEntry(entry_id=e.entry_id, under_18=e.under_18, under_13=e.under_13,
                                       disability=e.disability) for e in s.entries))


class FlatCalibration:
    model_version = "flat"

    def expected_false_alerts_per_1000(self, threshold: float, watchlist_size: int) -> float:
        return 0.01


async def _relay(deployments_db: InMemoryEventDatabase, world: World, after: int) -> int:
    """What the Kafka consumer does: translate each new deployment event and dispatch it."""
    events = await deployments_db.reader().read_all(after_position=after)
    for event in events:
        command = command_for_deployment_event(event)
        if command is not None:
            await world.run(command)
    return events[-1].position if events else after


async def test_authorisation_freezes_and_lapse_reopens(world: World) -> None:
    await world.with_alice()
    clock = ManualClock(START - timedelta(hours=12))
    deployments_db = InMemoryEventDatabase(clock=clock)
    bus = build_deployment_bus(DeploymentServices(db=deployments_db, calibration=FlatCalibration(),
                                                  watchlists=InProcessSummaries(world), clock=clock))
    form = f.Form1(purpose=f.PolicingPurpose(aim=f.LegitimateAim.PUBLIC_SAFETY, description="find X"),
                   location=f.Location(name="hub", zones=("z1",)),
                   window=f.Window(start=START, end=START + timedelta(hours=8)),
                   cameras=("cam-1",), watchlist_id=WATCHLIST)
    planner = {"actor": "insp-p", "role": "silver_commander", "deployment_id": DEPLOYMENT}
    await bus.handle(dc.DraftDeployment(form=form, **planner))
    await bus.handle(dc.ReassessCommunityImpact(assessment=f.CommunityImpactAssessment(
        scores=f.TensionScores(experienced=6, evidenced=6, potential=5), assessed_at=clock.now(),
        stakeholders_consulted=("IAG",)), **planner))
    await bus.handle(dc.SubmitDeployment(**planner))
    await bus.handle(dc.AuthoriseDeployment(actor="supt-ao", role="authorising_officer",
                                            deployment_id=DEPLOYMENT))
    position = await _relay(deployments_db, world, 0)

    frozen = (await world.events())[-1]
    assert frozen.event_type == "WatchlistFrozen"
    assert (frozen.data["revision"], frozen.metadata.actor) == (1, "supt-ao")
    with pytest.raises(DomainRuleViolation) as refusal:
        await world.run(add("e-bob", images=(image("bob"),)))
    assert refusal.value.code == "watchlist_frozen"

    await bus.handle(dc.AmendForm1(reason="second camera", cameras=("cam-1", "cam-2"), **planner))
    await _relay(deployments_db, world, position)
    assert (await world.events())[-1].event_type == "WatchlistReopened"
    await world.run(add("e-bob", images=(image("bob"),)))
