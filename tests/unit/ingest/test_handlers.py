"""Handlers over the in-memory event store: registration, the deployments feed attaching Form 1 cameras
for the authorising officer, detaching them at the end, and the gate the publisher asks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from lfr_ingest.adapters.credentials import SourceUrlVault
from lfr_ingest.app import commands as c
from lfr_ingest.app.handlers import IngestApp, Limits
from lfr_platform.clock import ManualClock
from lfr_platform.errors import DomainRuleViolation
from lfr_platform.eventstore import InMemoryEventDatabase
from lfr_platform.messaging.wire import EventMessage

from tests.fixtures.events import event_message

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def message(
    deployment_id: str,
    version: int,
    event_type: str,
    data: dict | None = None,
    actor: str = "ao-1",
    role: str = "authorising_officer",
) -> EventMessage:
    return event_message(
        "deployment", deployment_id, event_type, data, actor=actor, role=role, version=version, at=NOW
    )


@pytest.fixture
def app() -> IngestApp:
    return IngestApp(
        InMemoryEventDatabase(), SourceUrlVault(bytes(32)), Limits("/media"), clock=ManualClock(NOW)
    )


async def feed(app: IngestApp, *messages: EventMessage) -> None:
    for msg in messages:
        async with app.db.unit_of_work() as uow:
            await app.observe_deployment(uow, msg)
            await uow.commit()


async def test_form1_cameras_attach_on_authorisation_and_detach_at_the_end(app: IngestApp) -> None:
    for camera_id in ("cam-1", "cam-2"):
        await app.register(
            c.RegisterCamera(
                camera_id=camera_id,
                name=camera_id,
                source_url="rtsp://10.0.0.1/s",
                actor="admin-1",
                role="admin",
            )
        )
    form = {
        "window": {
            "start": (NOW - timedelta(hours=1)).isoformat(),
            "end": (NOW + timedelta(hours=1)).isoformat(),
        },
        "cameras": ["cam-1"],
    }
    await feed(
        app,
        message("dep", 1, "DeploymentDrafted", {"form": form}, "silver-1", "silver_commander"),
        message("dep", 2, "DeploymentSubmitted"),
        message("dep", 3, "DeploymentAuthorised"),
    )
    registry = app.registry
    assert (
        registry.cameras["cam-1"].deployment_id == "dep" and registry.cameras["cam-2"].deployment_id is None
    )
    assert registry.why_not_streaming("cam-1", NOW) == "deployment_authorised"
    await feed(app, message("dep", 4, "DeploymentStarted", actor="silver-1", role="silver_commander"))
    assert registry.may_publish("cam-1", "dep", NOW)
    assert not registry.may_publish("cam-1", "other", NOW) and not registry.may_publish("cam-2", "dep", NOW)
    assert not registry.may_publish("cam-1", "dep", NOW + timedelta(hours=1))  # the window ends on the clock

    attached = (await app.db.reader().read_stream("cam-1"))[-1]
    assert attached.event_type == "CameraAttached" and attached.metadata.actor == "ao-1"

    await feed(app, message("dep", 5, "DeploymentEnded", {"end_reason": "ended_by_silver"}))
    assert registry.cameras["cam-1"].deployment_id is None
    # The view survives a restart: it is in the service's own (unpublished) stream.
    restarted = IngestApp(app.db, app.vault, app.limits)
    await restarted.start()
    assert restarted.registry.deployments["dep"].status.value == "ended"
    assert restarted.registry.cameras["cam-1"].deployment_id is None


async def test_registration_rules(app: IngestApp) -> None:
    ok = c.RegisterCamera(
        camera_id="cam-1", name="A", source_url="rtsp://10.0.0.1/s", actor="a", role="admin"
    )
    await app.register(ok)
    for command, code in [
        (ok, "camera_exists"),
        (
            c.RegisterCamera(camera_id="Cam 1", name="A", source_url="rtsp://h/s", actor="a", role="admin"),
            "camera_id_invalid",
        ),
        (
            c.RegisterCamera(
                camera_id="cam-2", name="A", source_url="rtsp://h/s", fps=120, actor="a", role="admin"
            ),
            "fps_out_of_range",
        ),
        (
            c.RegisterCamera(
                camera_id="cam-2",
                name="A",
                source_url="rtsp://h/s",
                rtsp_transport="sctp",
                actor="a",
                role="admin",
            ),
            "rtsp_transport_invalid",
        ),
        (
            c.RegisterCamera(
                camera_id="cam-2", name="A", source_url="rtsp://h/s", max_width=8000, actor="a", role="admin"
            ),
            "resolution_out_of_range",
        ),
    ]:
        with pytest.raises(DomainRuleViolation) as refused:
            await app.register(command)
        assert refused.value.code == code
