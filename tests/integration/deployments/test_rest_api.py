"""The REST API as a whole: every state-changing operation records events carrying the token's person,
role and the request's correlation id (and a test walks the OpenAPI document so a new route without
such a check fails), the read side, role checks, and the expected false alert rate the AO sees."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from lfr_deployments.adapters.calibration import JsonCalibrationTable
from lfr_deployments.app import commands as c
from lfr_deployments.domain.form1 import Threshold

from tests.integration.deployments._harness import API, RestWorld, request_for, rest_world
from tests.unit.deployments.conftest import (
    AO,
    DEPLOYMENT,
    PLANNER,
    SILVER,
    WATCHLIST,
    WINDOW_END,
    adult,
    assessment,
    complete_form,
    summary,
)

D = DEPLOYMENT
TEMPLATE = f"{API}/{{deployment_id}}"


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[RestWorld]:
    async with rest_world(tmp_path) as w:
        yield w


def operation(command: c.Command) -> tuple[str, str]:
    """(METHOD, OpenAPI path template) of the call that sends `command`."""
    method, path, _ = request_for(command)
    return method, path.replace(f"{API}/{D}", TEMPLATE)


# One person per step, so each event's actor proves it came from that step's token.
LIFECYCLE: list[c.Command] = [
    c.DraftDeployment(actor="insp-draft", role="silver_commander", deployment_id=D, form=complete_form()),
    c.AmendForm1(actor="insp-amend", role="silver_commander", deployment_id=D, cameras=("cam-1", "cam-3")),
    c.ChangeThreshold(actor="supt-threshold", role="authorising_officer", deployment_id=D,
                      threshold=Threshold(value=0.62)),
    c.ReassessCommunityImpact(actor="insp-cia", role="silver_commander", deployment_id=D,
                              assessment=assessment()),
    c.SubmitDeployment(actor="insp-submit", role="silver_commander", deployment_id=D),
    c.RefuseAuthorisation(actor="supt-refuse", role="authorising_officer", deployment_id=D,
                          reason="cameras on the wrong side of the concourse"),
    c.SubmitDeployment(actor="insp-submit", role="silver_commander", deployment_id=D),
    c.AuthoriseDeployment(actor="supt-authorise", role="authorising_officer", deployment_id=D,
                          notes="necessary and proportionate"),
    c.StartDeployment(actor="ch-insp-start", role="silver_commander", deployment_id=D),
    c.HaltDeployment(actor="ch-insp-halt", role="silver_commander", deployment_id=D, reason="disorder"),
    c.StartDeployment(actor="ch-insp-resume", role="silver_commander", deployment_id=D, reason="calm again"),
    c.EndDeployment(actor="ch-insp-end", role="silver_commander", deployment_id=D, note="done"),
    c.RecordPostDeploymentReview(actor="supt-review", role="authorising_officer", deployment_id=D,
                                 false_alerts_examined=1, findings="one false alert, low light at dusk"),
]  # fmt: skip


async def test_every_state_changing_operation_records_actor_role_and_correlation(world: RestWorld) -> None:
    checked: set[tuple[str, str]] = set()
    for command in LIFECYCLE:
        if isinstance(command, c.StartDeployment) and command.reason is None:
            world.clock.set(complete_form().window.start)
        stored = await world.run(command)
        assert stored, f"{type(command).__name__} recorded nothing"
        for event in stored:
            meta = event.metadata
            assert (meta.actor, meta.role) == (command.actor, command.role), event.event_type
            assert meta.correlation_id == world.correlation_id, event.event_type
        checked.add(operation(command))

    changing = {
        (method.upper(), path)
        for path, ops in world.parts.app().openapi()["paths"].items()
        if path.startswith(API)
        for method in ops
        if method.upper() in {"POST", "PUT", "PATCH", "DELETE"}
    }
    assert changing - checked == set(), "state-changing operations without an attribution check"
    assert checked - changing == set()


async def test_reads_list_filter_and_not_found(world: RestWorld) -> None:
    await world.authorised()
    headers = world.auth("pc-operator", "operator")  # every role may read
    one = (await world.client.get(f"{API}/{D}", headers=headers)).json()
    assert one["status"] == "authorised" and one["authorised_by"] == AO[0]
    assert one["submitted_by"] == PLANNER[0] and one["watchlist_version"] == 3
    assert one["form"]["threshold"]["value"] == 0.6 and one["form"]["cameras"] == ["cam-1", "cam-2"]
    assert one["assessments"][0]["scores"] == {"experienced": 5, "evidenced": 6, "potential": 5}
    listed = (await world.client.get(API, params={"status": "authorised"}, headers=headers)).json()
    assert [d["deployment_id"] for d in listed["deployments"]] == [D]
    none = (await world.client.get(API, params={"status": "live"}, headers=headers)).json()
    assert none["deployments"] == []
    missing = await world.client.get(f"{API}/nope", headers=headers)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert (await world.client.get(f"{API}/{D}")).status_code == 401


@pytest.mark.parametrize(
    ("role", "command"),
    [
        ("operator", c.ChangeThreshold(actor="pc-op", role="operator", deployment_id=D,
                                       threshold=Threshold(value=0.62), reason="more hits")),
        ("operator", c.HaltDeployment(actor="pc-op", role="operator", deployment_id=D, reason="x")),
        ("watchlist_manager", c.SubmitDeployment(actor="wlm", role="watchlist_manager", deployment_id=D)),
        ("silver_commander", c.AuthoriseDeployment(actor="ch", role="silver_commander", deployment_id=D)),
        ("oversight", c.DraftDeployment(actor="ov", role="oversight", deployment_id="dep-2",
                                        form=complete_form())),
        ("admin", c.EndDeployment(actor="adm", role="admin", deployment_id=D)),
    ],
)  # fmt: skip
async def test_roles_without_the_permission_get_403(world: RestWorld, role: str, command: Any) -> None:
    await world.drafted()
    before = await world.events()
    response = await world.send(command)
    assert response.status_code == 403, response.text
    assert response.json()["error"]["details"]["role"] == role
    assert await world.events() == before


async def test_expected_false_alert_rate_from_the_calibration_table(world: RestWorld) -> None:
    table = JsonCalibrationTable.load(world.parts.settings.calibration_file)
    entries = [adult(f"e{i:04d}") for i in range(101)]
    world.watchlists.summaries[WATCHLIST] = summary(*entries[:100])
    await world.submitted()
    headers = world.auth(*AO)
    shown = (await world.client.get(f"{API}/{D}/expected-false-alert-rate", headers=headers)).json()
    assert shown["watchlist_size"] == 100 and shown["threshold"] == 0.6
    # The calibrated point at 0.60 and 100 entries: about 1 false alert per 10,000 faces.
    assert shown["expected_false_alerts_per_1000"] == pytest.approx(0.0999950501616963)
    assert shown["within_direction"] is True and shown["max_false_alerts_per_1000"] == 1.0
    assert shown["calibration_model_version"] == table.model_version == "dlib-resnet-v1-onnx1"

    await world.feed(_entry_messages(entries[100:]))  # one more person on the list
    shown = (await world.client.get(f"{API}/{D}/expected-false-alert-rate", headers=headers)).json()
    assert shown["watchlist_size"] == 101
    assert shown["expected_false_alerts_per_1000"] == pytest.approx(
        table.expected_false_alerts_per_1000(0.6, 101)
    )
    # Under a stricter direction the same figure refuses authorisation, naming the rule.
    world.parts.bus.context.policy = replace(world.parts.bus.context.policy, max_false_alerts_per_1000=0.1)
    refused = await world.send(c.AuthoriseDeployment(actor=AO[0], role=AO[1], deployment_id=D))
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "false_alert_rate_exceeds_direction"


def _entry_messages(entries: list[Any]) -> list[Any]:
    from tests.integration.deployments._harness import summary_as_events

    return summary_as_events(summary(*entries, version=4, frozen=False))[1:]  # without WatchlistCreated


async def test_window_and_tension_values_are_checked_at_the_edge(world: RestWorld) -> None:
    headers = world.auth(*SILVER)
    form = request_for(c.DraftDeployment(actor="x", role="y", deployment_id=D, form=complete_form()))[2]
    assert form is not None
    backwards = {
        **form,
        "form": {
            **form["form"],
            "window": {"start": WINDOW_END.isoformat(), "end": complete_form().window.start.isoformat()},
        },
    }
    response = await world.client.post(API, json=backwards, headers=headers)
    assert response.status_code == 422 and response.json()["error"]["code"] == "window_invalid"
    await world.drafted()
    body = {
        "scores": {"experienced": 7, "evidenced": 5, "potential": 5},
        "assessed_at": WINDOW_END.isoformat(),
        "stakeholders_consulted": ["IAG"],
    }
    response = await world.client.post(f"{API}/{D}/community-impact", json=body, headers=headers)
    assert response.status_code == 422 and response.json()["error"]["code"] == "tension_score_out_of_range"


async def test_a_start_waits_briefly_for_the_freeze_to_arrive(tmp_path: Path) -> None:
    """Freezing is the watchlists service's reaction to the authorisation, arriving over Kafka: a start
    sent at once waits (up to a configured bound) for it instead of failing `watchlist_not_frozen`."""
    async with rest_world(tmp_path, start_freeze_wait_seconds=30.0) as w:
        w.watchlists.summaries[WATCHLIST] = summary(frozen=False)
        await w.authorised()
        w.clock.set(complete_form().window.start)
        start = asyncio.create_task(
            w.send(c.StartDeployment(actor=SILVER[0], role=SILVER[1], deployment_id=D))
        )
        await asyncio.sleep(0.3)  # the start is waiting now; nothing to await from outside
        assert not start.done()
        w.watchlists.summaries[WATCHLIST] = summary(frozen=True)
        await w.flush_summaries()
        response = await asyncio.wait_for(start, 30)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "live"
