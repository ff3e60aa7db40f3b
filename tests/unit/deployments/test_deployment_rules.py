"""Every deployment rule, table-driven: each case arranges a state where only that rule refuses.

The matching happy-path tests (test_deployment_lifecycle.py) show the same commands succeed without the
offending detail, so removing a rule makes its case here fail.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import timedelta

import pytest
from lfr_deployments.app import commands as c
from lfr_deployments.domain.form1 import (
    CompositionDeclaration,
    Location,
    PolicingPurpose,
    Threshold,
)
from lfr_deployments.domain.watchlist_summary import SummaryEntry
from lfr_platform.errors import DomainRuleViolation

from .conftest import (  # noqa: F401 - fixtures and factories shared by the table
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

Arrange = Callable[[World], Awaitable[c.Command]]


def draft_with(**form_changes: object) -> Arrange:
    async def arrange(w: World) -> c.Command:
        return c.DraftDeployment(actor=PLANNER[0], role=PLANNER[1], deployment_id=DEPLOYMENT,
                                 form=complete_form(**form_changes))
    return arrange


def submit_with(**form_changes: object) -> Arrange:
    async def arrange(w: World) -> c.Command:
        await w.drafted(complete_form(**form_changes))
        return c.SubmitDeployment(actor=PLANNER[0], role=PLANNER[1], deployment_id=DEPLOYMENT)
    return arrange


def authorise_against(watchlist_summary: object, form_changes: dict | None = None,
                      actor: tuple[str, str] = AO) -> Arrange:
    async def arrange(w: World) -> c.Command:
        w.watchlists.summaries[WATCHLIST] = watchlist_summary  # type: ignore[assignment]
        await w.submitted(complete_form(**(form_changes or {})))
        return c.AuthoriseDeployment(actor=actor[0], role=actor[1], deployment_id=DEPLOYMENT)
    return arrange


def entry(entry_id: str, *, under_18: bool = False, under_13: bool = False,
          disability: bool = False) -> SummaryEntry:
    return SummaryEntry(entry_id=entry_id, under_18=under_18, under_13=under_13, disability=disability)


async def no_cia_submit(w: World) -> c.Command:
    await w.run(c.DraftDeployment(actor=PLANNER[0], role=PLANNER[1], deployment_id=DEPLOYMENT,
                                  form=complete_form()))
    return c.SubmitDeployment(actor=PLANNER[0], role=PLANNER[1], deployment_id=DEPLOYMENT)


async def submit_after_window(w: World) -> c.Command:
    await w.drafted()
    w.clock.set(WINDOW_END)
    return c.SubmitDeployment(actor=PLANNER[0], role=PLANNER[1], deployment_id=DEPLOYMENT)


async def submit_twice(w: World) -> c.Command:
    await w.submitted()
    return c.SubmitDeployment(actor=PLANNER[0], role=PLANNER[1], deployment_id=DEPLOYMENT)


async def draft_twice(w: World) -> c.Command:
    await w.drafted()
    return c.DraftDeployment(actor=PLANNER[0], role=PLANNER[1], deployment_id=DEPLOYMENT,
                             form=complete_form())


async def authorise_by_silver(w: World) -> c.Command:
    await w.submitted()
    return c.AuthoriseDeployment(actor="supt-ao", role="silver_commander", deployment_id=DEPLOYMENT)


async def authorise_draft(w: World) -> c.Command:
    await w.drafted()
    return c.AuthoriseDeployment(actor=AO[0], role=AO[1], deployment_id=DEPLOYMENT)


async def authorise_by_submitter(w: World) -> c.Command:
    await w.drafted()
    # The submitter also holds the AO role: the same person may not approve their own request.
    await w.run(c.SubmitDeployment(actor=AO[0], role=AO[1], deployment_id=DEPLOYMENT))
    return c.AuthoriseDeployment(actor=AO[0], role=AO[1], deployment_id=DEPLOYMENT)


async def authorise_when_window_passed(w: World) -> c.Command:
    await w.submitted()
    w.clock.set(WINDOW_END + timedelta(seconds=1))
    return c.AuthoriseDeployment(actor=AO[0], role=AO[1], deployment_id=DEPLOYMENT)


async def authorise_over_direction(w: World) -> c.Command:
    w.calibration.per_entry = 0.0002  # 5,001 entries -> 1.0002 per 1,000 faces
    await w.submitted()
    big = tuple(adult(f"e{i}") for i in range(5001))
    w.watchlists.summaries[WATCHLIST] = summary(*big)
    return c.AuthoriseDeployment(actor=AO[0], role=AO[1], deployment_id=DEPLOYMENT)


async def refuse_without_reason(w: World) -> c.Command:
    await w.submitted()
    return c.RefuseAuthorisation(actor=AO[0], role=AO[1], deployment_id=DEPLOYMENT, reason=" ")


def start(actor: tuple[str, str] = SILVER, reason: str | None = None) -> c.StartDeployment:
    return c.StartDeployment(actor=actor[0], role=actor[1], deployment_id=DEPLOYMENT, reason=reason)


async def start_by_ao(w: World) -> c.Command:
    await w.authorised()
    w.clock.set(WINDOW_START)
    return start(AO)


async def start_unauthorised(w: World) -> c.Command:
    await w.submitted()
    w.clock.set(WINDOW_START)
    return start()


async def start_before_window(w: World) -> c.Command:
    await w.authorised()
    w.clock.set(WINDOW_START - timedelta(seconds=1))
    return start()


async def start_after_window(w: World) -> c.Command:
    await w.authorised()
    w.clock.set(WINDOW_END)
    return start()


async def start_with_unfrozen_watchlist(w: World) -> c.Command:
    w.watchlists.summaries[WATCHLIST] = summary(frozen=False)
    await w.authorised()
    w.clock.set(WINDOW_START)
    return start()


async def start_after_watchlist_changed(w: World) -> c.Command:
    await w.authorised()
    # The freeze lost a race: an entry was added after the officer saw revision 3.
    w.watchlists.summaries[WATCHLIST] = summary(adult("a"), adult("b"), version=4)
    w.clock.set(WINDOW_START)
    return start()


async def restart_after_watchlist_reopened(w: World) -> c.Command:
    await w.halted()
    w.watchlists.summaries[WATCHLIST] = summary(frozen=False)
    return start(reason="resume")


async def restart_without_reason(w: World) -> c.Command:
    await w.halted()
    return start(reason="  ")


async def restart_after_window(w: World) -> c.Command:
    await w.halted()
    w.clock.set(WINDOW_END + timedelta(minutes=1))
    return start(reason="crowd dispersed")


async def halt_by_operator(w: World) -> c.Command:
    await w.live()
    return c.HaltDeployment(actor="pc-operator", role="operator", deployment_id=DEPLOYMENT, reason="x")


async def halt_when_not_live(w: World) -> c.Command:
    await w.authorised()
    return c.HaltDeployment(actor=SILVER[0], role=SILVER[1], deployment_id=DEPLOYMENT, reason="x")


async def halt_without_reason(w: World) -> c.Command:
    await w.live()
    return c.HaltDeployment(actor=SILVER[0], role=SILVER[1], deployment_id=DEPLOYMENT, reason="")


async def end_by_ao(w: World) -> c.Command:
    await w.live()
    return c.EndDeployment(actor=AO[0], role=AO[1], deployment_id=DEPLOYMENT)


async def end_a_draft(w: World) -> c.Command:
    await w.drafted()
    return c.EndDeployment(actor=SILVER[0], role=SILVER[1], deployment_id=DEPLOYMENT)


async def expire_early(w: World) -> c.Command:
    await w.live()
    w.clock.set(WINDOW_END - timedelta(seconds=1))
    return c.ExpireDeployment(actor="scheduler", role="system", deployment_id=DEPLOYMENT)


async def review_while_live(w: World) -> c.Command:
    await w.live()
    return c.RecordPostDeploymentReview(actor=AO[0], role=AO[1], deployment_id=DEPLOYMENT,
                                        false_alerts_examined=0, findings="none")


async def review_without_findings(w: World) -> c.Command:
    await w.ended()
    return c.RecordPostDeploymentReview(actor=AO[0], role=AO[1], deployment_id=DEPLOYMENT,
                                        false_alerts_examined=2, findings=" ")


async def review_negative_count(w: World) -> c.Command:
    await w.ended()
    return c.RecordPostDeploymentReview(actor=AO[0], role=AO[1], deployment_id=DEPLOYMENT,
                                        false_alerts_examined=-1, findings="two false alerts, lighting")


async def amend_while_live(w: World) -> c.Command:
    await w.live()
    return c.AmendForm1(actor=PLANNER[0], role=PLANNER[1], deployment_id=DEPLOYMENT, reason="more cams",
                        cameras=("cam-1", "cam-2", "cam-3"))


async def amend_after_end(w: World) -> c.Command:
    await w.ended()
    return c.AmendForm1(actor=PLANNER[0], role=PLANNER[1], deployment_id=DEPLOYMENT, reason="late",
                        cameras=("cam-9",))


async def reassess_after_end(w: World) -> c.Command:
    from .conftest import assessment
    await w.ended()
    return c.ReassessCommunityImpact(actor=SILVER[0], role=SILVER[1], deployment_id=DEPLOYMENT,
                                     assessment=assessment(WINDOW_END))


async def amend_submitted_without_reason(w: World) -> c.Command:
    await w.submitted()
    return c.AmendForm1(actor=PLANNER[0], role=PLANNER[1], deployment_id=DEPLOYMENT,
                        cameras=("cam-1",))


async def amend_nothing(w: World) -> c.Command:
    await w.drafted()
    return c.AmendForm1(actor=PLANNER[0], role=PLANNER[1], deployment_id=DEPLOYMENT,
                        cameras=("cam-1", "cam-2"))


async def change_threshold_below_floor(w: World) -> c.Command:
    await w.authorised()
    return c.ChangeThreshold(actor=PLANNER[0], role=PLANNER[1], deployment_id=DEPLOYMENT,
                             threshold=Threshold(value=0.55, justification="x" * 40), reason="more hits")


async def change_threshold_unjustified(w: World) -> c.Command:
    await w.drafted()
    return c.ChangeThreshold(actor=PLANNER[0], role=PLANNER[1], deployment_id=DEPLOYMENT,
                             threshold=Threshold(value=0.595))


async def change_threshold_to_same(w: World) -> c.Command:
    await w.drafted()
    return c.ChangeThreshold(actor=PLANNER[0], role=PLANNER[1], deployment_id=DEPLOYMENT,
                             threshold=Threshold())


LEGAL = {"legal_advice_reference": "DLS-2026-114"}
U13 = CompositionDeclaration(under_18=True, under_13=True)
U18 = CompositionDeclaration(under_18=True)
DISABILITY = CompositionDeclaration(disability=True)

CASES: list[tuple[str, str, Arrange]] = [
    ("threshold_below_floor", "draft 0.55 even with justification",
     draft_with(threshold=Threshold(value=0.55, justification="specific operational reason here"))),
    ("threshold_justification_required", "draft 0.595 without justification",
     draft_with(threshold=Threshold(value=0.595))),
    ("threshold_justification_required", "draft 0.595 with a token justification",
     draft_with(threshold=Threshold(value=0.595, justification="ok"))),
    ("threshold_out_of_range", "draft threshold above 1", draft_with(threshold=Threshold(value=1.2))),
    ("threshold_below_floor", "change threshold below floor", change_threshold_below_floor),
    ("threshold_justification_required", "change threshold unjustified", change_threshold_unjustified),
    ("deployment_exists", "draft the same id twice", draft_twice),
    ("not_draft", "submit twice", submit_twice),
    ("purpose_required", "submit without purpose", submit_with(
        purpose=PolicingPurpose(aim=complete_form().purpose.aim, description="  "))),
    ("zones_required", "submit without zones", submit_with(location=Location(name="x", zones=()))),
    ("cameras_required", "submit without cameras", submit_with(cameras=())),
    ("watchlist_required", "submit without watchlist", submit_with(watchlist_id=None)),
    ("legal_advice_required", "submit under-13 without legal advice", submit_with(composition=U13)),
    ("legal_advice_required", "submit disability without legal advice",
     submit_with(composition=DISABILITY)),
    ("community_impact_assessment_required", "submit without CIA", no_cia_submit),
    ("window_passed", "submit after the window", submit_after_window),
    ("authoriser_role_required", "authorise by a silver commander", authorise_by_silver),
    ("not_submitted", "authorise a draft", authorise_draft),
    ("authoriser_is_submitter", "authorise own submission", authorise_by_submitter),
    ("authoriser_is_operator", "authorise as an operator on it",
     authorise_against(summary(), {"operators": ("pc-operator", AO[0])})),
    ("window_passed", "authorise after the window", authorise_when_window_passed),
    ("watchlist_mismatch", "summary of another watchlist", authorise_against(summary(watchlist_id="wl-9"))),
    ("watchlist_not_for_deployment", "watchlist built for another deployment",
     authorise_against(summary(deployment_id="dep-9"))),
    ("watchlist_empty", "empty watchlist", authorise_against(
        replace(summary(), entries=()))),
    ("composition_mismatch", "under-13 entry, none declared",
     authorise_against(summary(adult(), entry("e-child", under_18=True, under_13=True)),
                       {"composition": U18})),
    ("composition_mismatch", "under-18 entry, none declared",
     authorise_against(summary(adult(), entry("e-teen", under_18=True)))),
    ("composition_mismatch", "disability entry, none declared",
     authorise_against(summary(adult(), entry("e-dis", disability=True)))),
    ("composition_mismatch", "under-13 declared, none present",
     authorise_against(summary(entry("e-teen", under_18=True)), {"composition": U13, **LEGAL})),
    ("false_alert_rate_exceeds_direction", "5,001 entries at 0.0002 each", authorise_over_direction),
    ("refusal_reason_required", "refuse without reason", refuse_without_reason),
    ("silver_commander_required", "start by the AO", start_by_ao),
    ("not_authorised", "start a submitted deployment", start_unauthorised),
    ("outside_window", "start a second early", start_before_window),
    ("outside_window", "start at the window end", start_after_window),
    ("watchlist_not_frozen", "start with the watchlist not frozen", start_with_unfrozen_watchlist),
    ("watchlist_not_frozen", "start after the watchlist moved on", start_after_watchlist_changed),
    ("watchlist_not_frozen", "restart with the watchlist reopened", restart_after_watchlist_reopened),
    ("restart_reason_required", "restart without reason", restart_without_reason),
    ("outside_window", "restart after the window", restart_after_window),
    ("silver_commander_required", "halt by an operator", halt_by_operator),
    ("not_live", "halt an authorised deployment", halt_when_not_live),
    ("halt_reason_required", "halt without reason", halt_without_reason),
    ("silver_commander_required", "end by the AO", end_by_ao),
    ("not_running", "end a draft", end_a_draft),
    ("window_not_over", "expire a second early", expire_early),
    ("not_ended", "review while live", review_while_live),
    ("review_findings_required", "review without findings", review_without_findings),
    ("invalid_false_alert_count", "review with negative count", review_negative_count),
    ("halt_before_amending", "amend while live", amend_while_live),
    ("deployment_closed", "amend after the end", amend_after_end),
    ("deployment_closed", "reassess after the end", reassess_after_end),
    ("amendment_reason_required", "amend a submitted form without reason", amend_submitted_without_reason),
    ("no_change", "amend to the same values", amend_nothing),
    ("no_change", "change threshold to the current one", change_threshold_to_same),
]


@pytest.mark.parametrize(("code", "case", "arrange"), CASES, ids=[f"{c}:{n}" for c, n, _ in CASES])
async def test_rule_refuses_with_its_code(world: World, code: str, case: str, arrange: Arrange) -> None:
    command = await arrange(world)
    before = await world.events()
    with pytest.raises(DomainRuleViolation) as refused:
        await world.run(command)
    assert refused.value.code == code, refused.value.message
    assert refused.value.http_status == 422
    assert await world.events() == before, "a refused command records nothing"


async def test_composition_mismatch_names_the_offending_entry(world: World) -> None:
    arrange = authorise_against(summary(adult(), entry("e-child", under_18=True, under_13=True)),
                                {"composition": U18})
    with pytest.raises(DomainRuleViolation) as refused:
        await world.run(await arrange(world))
    assert refused.value.details["entry_id"] == "e-child"
    assert "e-child" in refused.value.message
