"""Camera aggregate, zone of recognition and the deployment authority (pure domain)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from lfr_ingest.domain.authority import DeploymentStatus, DeploymentView, why_camera_may_not_stream
from lfr_ingest.domain.camera import Camera
from lfr_ingest.domain.events import CameraSettings
from lfr_ingest.domain.roi import ZoneOfRecognition
from lfr_platform.errors import DomainRuleViolation

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
WHO = {"actor": "admin-1", "role": "admin", "at": NOW}
SETTINGS = CameraSettings(
    name="Gate",
    source_kind="rtsp",
    source_url="rtsp://***@h/s",
    source_url_sealed="AAA",
    rtsp_transport="tcp",
    zone=None,
    fps=5.0,
    max_width=1280,
    max_height=720,
)


def test_zone_validation_and_containment() -> None:
    zone = ZoneOfRecognition(((0.1, 0.1), (0.9, 0.1), (0.9, 0.9), (0.1, 0.9)))
    assert zone.contains(0.5, 0.5) and not zone.contains(0.95, 0.5)
    assert zone.to_header() == "[[0.1,0.1],[0.9,0.1],[0.9,0.9],[0.1,0.9]]"
    for bad in [((0, 0), (1, 1)), ((0, 0), (2, 0), (0, 1)), ((0, 0), (0.5, 0.5), (1, 1))]:
        with pytest.raises(DomainRuleViolation, match="zone|polygon|area"):
            ZoneOfRecognition(bad)


def test_attachment_rules() -> None:
    camera = Camera.register("cam-1", SETTINGS, **WHO)
    camera.attach("dep-1", **WHO)
    camera.attach("dep-1", **WHO)  # idempotent
    with pytest.raises(DomainRuleViolation) as busy:
        camera.attach("dep-2", **WHO)
    assert busy.value.code == "camera_already_attached"
    with pytest.raises(DomainRuleViolation) as attached:
        camera.decommission("old", **WHO)
    assert attached.value.code == "camera_attached"
    camera.detach("dep-1", "done", **WHO)
    camera.decommission("old", **WHO)
    with pytest.raises(DomainRuleViolation) as gone:
        camera.attach("dep-1", **WHO)
    assert gone.value.code == "camera_decommissioned"


def test_up_down_history_is_deduplicated() -> None:
    camera = Camera.register("cam-1", SETTINGS, **WHO)
    camera.collect_pending()
    camera.record_disconnected("d", "x", at=NOW)  # never connected: nothing to record
    camera.record_error("d", "unreachable", "refused", at=NOW)
    camera.record_error("d", "unreachable", "refused", at=NOW)  # retry of the same failure
    camera.record_connected("d", 640, 480, "h264", at=NOW)
    camera.record_connected("d", 640, 480, "h264", at=NOW)
    camera.record_error("d", "stream_ended", "ended", at=NOW)  # a connected camera goes down
    types = [e.event_type() for e in camera.collect_pending()]
    assert types == ["CameraErrored", "CameraConnected", "CameraDisconnected", "CameraErrored"]
    assert all(e.actor == "lfr-ingest" for e in camera.pending)


def test_update_names_what_changed_but_not_the_secret() -> None:
    camera = Camera.register("cam-1", SETTINGS, **WHO)
    from dataclasses import replace

    camera.update(replace(SETTINGS, source_url_sealed="BBB"), **WHO)
    camera.update(replace(SETTINGS, source_url_sealed="BBB", fps=2.0, name="North"), **WHO)
    camera.update(replace(SETTINGS, source_url_sealed="BBB", fps=2.0, name="North"), **WHO)  # no change
    updates = [e for e in camera.collect_pending() if e.event_type() == "CameraUpdated"]
    assert [u.changed for u in updates] == [("source_url",), ("name", "fps")]  # type: ignore[attr-defined]


def _form(cameras: list[str], start: datetime, end: datetime) -> dict:
    return {"form": {"window": {"start": start.isoformat(), "end": end.isoformat()}, "cameras": cameras}}


def test_deployment_view_follows_the_lifecycle_and_the_window() -> None:
    view = DeploymentView(deployment_id="dep-1")
    view = view.observe(
        "DeploymentDrafted", _form(["cam-1"], NOW - timedelta(hours=1), NOW + timedelta(hours=1))
    )
    assert view is not None and view.cameras == ("cam-1",)
    assert view.why_not_streaming("cam-1", NOW) == "deployment_draft"
    for event_type, status in [
        ("DeploymentSubmitted", DeploymentStatus.SUBMITTED),
        ("DeploymentAuthorised", DeploymentStatus.AUTHORISED),
        ("DeploymentStarted", DeploymentStatus.LIVE),
    ]:
        next_view = view.observe(event_type, {})
        assert next_view is not None and next_view.status is status
        view = next_view
    assert view.why_not_streaming("cam-1", NOW) is None
    assert view.why_not_streaming("cam-2", NOW) == "camera_not_on_form1"
    assert view.why_not_streaming("cam-1", NOW + timedelta(hours=1)) == "outside_authorised_window"
    assert view.observe("ThresholdChanged", {"threshold": {}}) is None
    halted = view.observe("DeploymentHalted", {"reason": "x"})
    assert halted is not None and halted.why_not_streaming("cam-1", NOW) == "deployment_halted"
    resumed = halted.observe("DeploymentResumed", {"reason": "ok"})
    assert resumed is not None and resumed.why_not_streaming("cam-1", NOW) is None
    ended = resumed.observe("DeploymentEnded", {"end_reason": "ended_by_silver"})
    assert ended is not None and ended.why_not_streaming("cam-1", NOW) == "deployment_ended"


def test_a_camera_streams_only_when_every_condition_holds() -> None:
    live = DeploymentView(
        deployment_id="d",
        status=DeploymentStatus.LIVE,
        window_start=NOW - timedelta(minutes=1),
        window_end=NOW + timedelta(minutes=1),
        cameras=("c",),
    )
    assert why_camera_may_not_stream(True, "d", live, "c", NOW) is None
    assert why_camera_may_not_stream(False, "d", live, "c", NOW) == "camera_decommissioned"
    assert why_camera_may_not_stream(True, None, live, "c", NOW) == "not_attached"
    assert why_camera_may_not_stream(True, "d", None, "c", NOW) == "deployment_unknown"
