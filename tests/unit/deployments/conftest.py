"""Fixtures for the deployment unit tests: the in-memory event store and fakes of the two ports."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta

import pytest
from lfr_deployments.app import commands as c
from lfr_deployments.app.handlers import DeploymentServices, build_bus
from lfr_deployments.app.messagebus import MessageBus
from lfr_deployments.domain.form1 import (
    CommunityImpactAssessment,
    CompositionDeclaration,
    Form1,
    LegitimateAim,
    Location,
    PolicingPurpose,
    TensionScores,
    Threshold,
    Window,
)
from lfr_deployments.domain.policy import GovernancePolicy
from lfr_deployments.domain.watchlist_summary import SummaryEntry, WatchlistSummary
from lfr_platform.clock import ManualClock
from lfr_platform.errors import NotFound
from lfr_platform.eventstore import InMemoryEventDatabase, StoredEvent

DEPLOYMENT = "dep-1"
WATCHLIST = "wl-1"
PLANNER = ("insp-planner", "silver_commander")
AO = ("supt-ao", "authorising_officer")
SILVER = ("ch-insp-silver", "silver_commander")
WINDOW_START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
WINDOW_END = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)


class FakeCalibration:
    """Linear in watchlist size: per_entry false alerts per 1,000 faces for each watchlist entry."""

    model_version = "fake-model-1"

    def __init__(self, per_entry: float = 0.0001) -> None:
        self.per_entry = per_entry

    def expected_false_alerts_per_1000(self, threshold: float, watchlist_size: int) -> float:
        return self.per_entry * watchlist_size


@dataclass
class FakeWatchlists:
    summaries: dict[str, WatchlistSummary] = field(default_factory=dict)
    asked_on: list[date] = field(default_factory=list)

    async def summary(self, watchlist_id: str, on: date) -> WatchlistSummary:
        self.asked_on.append(on)
        if watchlist_id not in self.summaries:
            raise NotFound(f"watchlist {watchlist_id!r} does not exist")
        return self.summaries[watchlist_id]


def adult(entry_id: str = "entry-adult") -> SummaryEntry:
    return SummaryEntry(entry_id=entry_id, under_18=False, under_13=False, disability=False)


def summary(*entries: SummaryEntry, version: int = 3, watchlist_id: str = WATCHLIST,
            deployment_id: str = DEPLOYMENT, frozen: bool = True) -> WatchlistSummary:
    # Frozen by default: the watchlists service freezes on DeploymentAuthorised, which the start
    # rule checks; authorisation itself does not look at it.
    return WatchlistSummary(watchlist_id=watchlist_id, deployment_id=deployment_id, version=version,
                            entries=entries or (adult(),), frozen=frozen)


def assessment(at: datetime = WINDOW_START - timedelta(days=1)) -> CommunityImpactAssessment:
    return CommunityImpactAssessment(
        scores=TensionScores(experienced=5, evidenced=6, potential=5),
        assessed_at=at,
        stakeholders_consulted=("Independent Advisory Group", "Borough council"),
    )


def complete_form(**changes: object) -> Form1:
    form = Form1(
        purpose=PolicingPurpose(aim=LegitimateAim.PREVENTION_OF_DISORDER_OR_CRIME,
                                description="Locate people wanted for serious violence near the hub"),
        location=Location(name="Stratford station", zones=("east approach",)),
        window=Window(start=WINDOW_START, end=WINDOW_END),
        cameras=("cam-1", "cam-2"),
        threshold=Threshold(),
        watchlist_id=WATCHLIST,
        composition=CompositionDeclaration(),
        operators=("pc-operator",),
    )
    return replace(form, **changes)  # type: ignore[arg-type]


class Steps:
    """Drive the deployment to a state with valid commands, through whatever `run` sends them by (the bus
    here, REST in the integration tests' RestWorld)."""

    clock: ManualClock

    async def run(self, command: c.Command) -> list[StoredEvent]:
        raise NotImplementedError

    async def drafted(self, form: Form1 | None = None) -> None:
        actor, role = PLANNER
        await self.run(c.DraftDeployment(actor=actor, role=role, deployment_id=DEPLOYMENT,
                                         form=form or complete_form()))
        await self.run(c.ReassessCommunityImpact(actor=actor, role=role, deployment_id=DEPLOYMENT,
                                                 assessment=assessment()))

    async def submitted(self, form: Form1 | None = None) -> None:
        await self.drafted(form)
        await self.run(c.SubmitDeployment(actor=PLANNER[0], role=PLANNER[1], deployment_id=DEPLOYMENT))

    async def authorised(self, form: Form1 | None = None) -> None:
        await self.submitted(form)
        await self.run(c.AuthoriseDeployment(actor=AO[0], role=AO[1], deployment_id=DEPLOYMENT))

    async def live(self) -> None:
        await self.authorised()
        self.clock.set(WINDOW_START + timedelta(minutes=5))
        await self.run(c.StartDeployment(actor=SILVER[0], role=SILVER[1], deployment_id=DEPLOYMENT))

    async def halted(self) -> None:
        await self.live()
        await self.run(c.HaltDeployment(actor=SILVER[0], role=SILVER[1], deployment_id=DEPLOYMENT,
                                        reason="crowd crush risk"))

    async def ended(self) -> None:
        await self.live()
        await self.run(c.EndDeployment(actor=SILVER[0], role=SILVER[1], deployment_id=DEPLOYMENT))


@dataclass
class World(Steps):
    bus: MessageBus[DeploymentServices]
    db: InMemoryEventDatabase
    clock: ManualClock
    watchlists: FakeWatchlists
    calibration: FakeCalibration

    async def run(self, command: c.Command) -> list[StoredEvent]:
        result: list[StoredEvent] = await self.bus.handle(command)
        return result

    async def events(self, stream: str = DEPLOYMENT) -> list[StoredEvent]:
        return await self.db.reader().read_stream(stream)


@pytest.fixture
def world() -> World:
    clock = ManualClock(WINDOW_START - timedelta(hours=20))
    db = InMemoryEventDatabase(clock=clock)
    watchlists = FakeWatchlists({WATCHLIST: summary()})
    calibration = FakeCalibration()
    services = DeploymentServices(db=db, calibration=calibration, watchlists=watchlists,
                                  policy=GovernancePolicy(), clock=clock)
    return World(build_bus(services), db, clock, watchlists, calibration)
