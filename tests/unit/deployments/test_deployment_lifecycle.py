"""Happy paths and re-authorisation: the same commands the rule table refuses succeed when valid."""

from __future__ import annotations

from datetime import timedelta

import pytest
from lfr_deployments.app import commands as c
from lfr_deployments.app.queries import (
    due_to_expire,
    expected_false_alert_rate,
    get_deployment,
    list_deployments,
)
from lfr_deployments.domain.deployment import Status
from lfr_deployments.domain.form1 import CompositionDeclaration, Threshold
from lfr_deployments.domain.watchlist_summary import SummaryEntry
from lfr_platform.errors import DomainRuleViolation

from .conftest import (
    AO,
    DEPLOYMENT,
    PLANNER,
    SILVER,
    WATCHLIST,
    WINDOW_END,
    WINDOW_START,
    World,
    adult,
    complete_form,
    summary,
)


async def status(w: World) -> Status:
    return (await get_deployment(w.db.reader(), DEPLOYMENT)).status


async def test_full_lifecycle_records_each_transition(world: World) -> None:
    await world.halted()
    await world.run(c.StartDeployment(actor=SILVER[0], role=SILVER[1], deployment_id=DEPLOYMENT,
                                      reason="crowd dispersed, safe to resume"))
    assert await status(world) == Status.LIVE
    world.clock.set(WINDOW_END)
    await world.run(c.ExpireDeployment(actor="scheduler", role="system", deployment_id=DEPLOYMENT))
    await world.run(c.RecordPostDeploymentReview(actor=AO[0], role=AO[1], deployment_id=DEPLOYMENT,
                                                 false_alerts_examined=1, findings="one, low light"))
    types = [e.event_type for e in await world.events()]
    assert types == ["DeploymentDrafted", "CommunityImpactReassessed", "DeploymentSubmitted",
                     "DeploymentAuthorised", "DeploymentStarted", "DeploymentHalted", "DeploymentResumed",
                     "DeploymentEnded", "PostDeploymentReviewRecorded"]
    assert await status(world) == Status.REVIEWED
    ended = (await world.events())[7]
    assert ended.data["end_reason"] == "window_expired"


async def test_authorisation_pins_watchlist_version_and_records_the_rate(world: World) -> None:
    world.watchlists.summaries[WATCHLIST] = summary(*(adult(f"e{i}") for i in range(1000)), version=7)
    await world.authorised()
    authorised = (await world.events())[-1]
    assert authorised.event_type == "DeploymentAuthorised"
    assert authorised.data["watchlist_version"] == 7
    assert authorised.data["watchlist_size"] == 1000
    assert authorised.data["expected_false_alerts_per_1000"] == pytest.approx(0.1)
    assert authorised.data["calibration_model_version"] == "fake-model-1"
    # Ages are computed at the start of the window, not when the AO happens to decide.
    assert world.watchlists.asked_on[-1] == WINDOW_START.date()


async def test_rate_exactly_at_direction_is_allowed(world: World) -> None:
    world.calibration.per_entry = 0.0002
    world.watchlists.summaries[WATCHLIST] = summary(*(adult(f"e{i}") for i in range(5000)))
    await world.authorised()
    assert await status(world) == Status.AUTHORISED


async def test_ao_sees_expected_rate_before_deciding(world: World) -> None:
    world.watchlists.summaries[WATCHLIST] = summary(*(adult(f"e{i}") for i in range(2500)))
    await world.submitted()
    estimate = await expected_false_alert_rate(world.bus.context, DEPLOYMENT)
    assert estimate.per_1000 == pytest.approx(0.25)


@pytest.mark.parametrize(
    ("declared", "entries", "legal"),
    [
        (CompositionDeclaration(under_18=True, under_13=True),
         (SummaryEntry(entry_id="c", under_18=True, under_13=True, disability=False),), "DLS-1"),
        (CompositionDeclaration(under_18=True),
         (SummaryEntry(entry_id="t", under_18=True, under_13=False, disability=False),), None),
        (CompositionDeclaration(disability=True),
         (SummaryEntry(entry_id="d", under_18=False, under_13=False, disability=True),), "DLS-2"),
    ],
)
async def test_matching_declarations_authorise(world: World, declared: CompositionDeclaration,
                                               entries: tuple[SummaryEntry, ...], legal: str | None) -> None:
    world.watchlists.summaries[WATCHLIST] = summary(*entries)
    await world.authorised(complete_form(composition=declared, legal_advice_reference=legal))
    assert await status(world) == Status.AUTHORISED


async def test_justified_low_threshold_is_accepted(world: World) -> None:
    low = Threshold(value=0.59, justification="High-risk missing child; SRO agreed in writing 22/11")
    await world.authorised(complete_form(threshold=low))
    assert (await get_deployment(world.db.reader(), DEPLOYMENT)).form.threshold == low


@pytest.mark.parametrize("state", ["authorised", "halted"])
async def test_amendment_after_authorisation_needs_reauthorisation(world: World, state: str) -> None:
    await getattr(world, state)()
    await world.run(c.AmendForm1(actor=PLANNER[0], role=PLANNER[1], deployment_id=DEPLOYMENT,
                                 reason="camera 3 added", cameras=("cam-1", "cam-2", "cam-3")))
    last = (await world.events())[-2:]
    assert [e.event_type for e in last] == ["Form1Amended", "AuthorisationLapsed"]
    assert last[0].data["changed"] == ["cameras"]
    assert last[1].data["watchlist_id"] == WATCHLIST  # the watchlists service reopens it
    assert await status(world) == Status.DRAFT
    world.clock.set(WINDOW_START + timedelta(minutes=30))
    with pytest.raises(DomainRuleViolation) as refused:
        await world.run(c.StartDeployment(actor=SILVER[0], role=SILVER[1], deployment_id=DEPLOYMENT,
                                          reason="resume"))
    assert refused.value.code == "not_authorised"
    # Re-submitted and re-authorised, it may start again.
    await world.run(c.SubmitDeployment(actor=PLANNER[0], role=PLANNER[1], deployment_id=DEPLOYMENT))
    await world.run(c.AuthoriseDeployment(actor=AO[0], role=AO[1], deployment_id=DEPLOYMENT))
    await world.run(c.StartDeployment(actor=SILVER[0], role=SILVER[1], deployment_id=DEPLOYMENT))
    assert await status(world) == Status.LIVE


async def test_threshold_change_after_authorisation_needs_reauthorisation(world: World) -> None:
    await world.authorised()
    await world.run(c.ChangeThreshold(actor=PLANNER[0], role=PLANNER[1], deployment_id=DEPLOYMENT,
                                      threshold=Threshold(value=0.64), reason="reduce false alerts"))
    types = [e.event_type for e in await world.events()][-2:]
    assert types == ["ThresholdChanged", "AuthorisationLapsed"]
    assert await status(world) == Status.DRAFT


async def test_amending_a_submitted_form_withdraws_the_submission(world: World) -> None:
    await world.submitted()
    await world.run(c.AmendForm1(actor=PLANNER[0], role=PLANNER[1], deployment_id=DEPLOYMENT,
                                 reason="zone renamed", cameras=("cam-1",)))
    assert await status(world) == Status.DRAFT
    assert "AuthorisationLapsed" not in [e.event_type for e in await world.events()]


async def test_refusal_returns_to_draft(world: World) -> None:
    await world.submitted()
    await world.run(c.RefuseAuthorisation(actor=AO[0], role=AO[1], deployment_id=DEPLOYMENT,
                                          reason="watchlist not specific to the location"))
    assert await status(world) == Status.DRAFT


async def test_silver_may_end_early_and_expiry_is_recorded_differently(world: World) -> None:
    await world.ended()
    assert (await world.events())[-1].data["end_reason"] == "ended_by_silver"


async def test_list_filters_by_status(world: World) -> None:
    await world.authorised()
    await world.run(c.DraftDeployment(actor=PLANNER[0], role=PLANNER[1], deployment_id="dep-2",
                                      form=complete_form()))
    listed = await list_deployments(world.db.reader(), Status.AUTHORISED)
    assert [v.deployment_id for v in listed] == [DEPLOYMENT]
    assert len(await list_deployments(world.db.reader())) == 2


async def test_scheduler_finds_deployments_past_their_window(world: World) -> None:
    await world.live()
    assert await due_to_expire(world.db.reader(), WINDOW_END - timedelta(seconds=1)) == []
    assert await due_to_expire(world.db.reader(), WINDOW_END) == [DEPLOYMENT]
    world.clock.set(WINDOW_END)
    await world.run(c.ExpireDeployment(actor="scheduler", role="system", deployment_id=DEPLOYMENT))
    assert await due_to_expire(world.db.reader(), WINDOW_END) == []
