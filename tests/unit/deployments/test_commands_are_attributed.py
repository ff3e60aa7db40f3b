"""Every command the bus knows produces events carrying the actor and role that sent it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from lfr_deployments.app import commands as c
from lfr_deployments.app.handlers import HANDLERS
from lfr_deployments.domain.form1 import Threshold

from tests.unit._attribution import Scenarios, assert_attributed

from .conftest import AO, DEPLOYMENT, PLANNER, SILVER, WINDOW_END, World, assessment, complete_form

D = DEPLOYMENT
SCENARIOS: Scenarios[World] = Scenarios()
scenario = SCENARIOS.register


@scenario(c.DraftDeployment)
async def _draft(w: World) -> c.Command:
    return c.DraftDeployment(actor="insp-a", role="silver_commander", deployment_id=D, form=complete_form())


@scenario(c.AmendForm1)
async def _amend(w: World) -> c.Command:
    await w.authorised()
    return c.AmendForm1(actor="insp-b", role="silver_commander", deployment_id=D, reason="r",
                        cameras=("cam-7",))


@scenario(c.ChangeThreshold)
async def _threshold(w: World) -> c.Command:
    await w.authorised()
    return c.ChangeThreshold(actor="insp-c", role="silver_commander", deployment_id=D,
                             threshold=Threshold(value=0.62), reason="fewer false alerts")


@scenario(c.ReassessCommunityImpact)
async def _reassess(w: World) -> c.Command:
    await w.live()
    return c.ReassessCommunityImpact(actor="insp-d", role="silver_commander", deployment_id=D,
                                     assessment=assessment(w.clock.now()))


@scenario(c.SubmitDeployment)
async def _submit(w: World) -> c.Command:
    await w.drafted()
    return c.SubmitDeployment(actor=PLANNER[0], role=PLANNER[1], deployment_id=D)


@scenario(c.AuthoriseDeployment)
async def _authorise(w: World) -> c.Command:
    await w.submitted()
    return c.AuthoriseDeployment(actor=AO[0], role=AO[1], deployment_id=D)


@scenario(c.RefuseAuthorisation)
async def _refuse(w: World) -> c.Command:
    await w.submitted()
    return c.RefuseAuthorisation(actor=AO[0], role=AO[1], deployment_id=D, reason="not proportionate")


@scenario(c.StartDeployment)
async def _start(w: World) -> c.Command:
    await w.halted()
    return c.StartDeployment(actor="ch-insp-2", role=SILVER[1], deployment_id=D, reason="safe again")


@scenario(c.HaltDeployment)
async def _halt(w: World) -> c.Command:
    await w.live()
    return c.HaltDeployment(actor="ch-insp-3", role=SILVER[1], deployment_id=D, reason="disorder")


@scenario(c.EndDeployment)
async def _end(w: World) -> c.Command:
    await w.live()
    return c.EndDeployment(actor="ch-insp-4", role=SILVER[1], deployment_id=D)


@scenario(c.ExpireDeployment)
async def _expire(w: World) -> c.Command:
    await w.live()
    w.clock.set(WINDOW_END + timedelta(seconds=1))
    return c.ExpireDeployment(actor="scheduler", role="system", deployment_id=D)


@scenario(c.RecordPostDeploymentReview)
async def _review(w: World) -> c.Command:
    await w.ended()
    return c.RecordPostDeploymentReview(actor="oversight-1", role="oversight", deployment_id=D,
                                        false_alerts_examined=0, findings="no false alerts")


def test_every_command_has_a_scenario() -> None:
    assert set(SCENARIOS) == set(HANDLERS)


@pytest.mark.parametrize("command_type", list(SCENARIOS), ids=lambda t: t.__name__)
async def test_every_command_records_actor_and_role(world: World, command_type: type) -> None:
    await assert_attributed(world, await SCENARIOS[command_type](world))
