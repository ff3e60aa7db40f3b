"""Folding deployment events: processing only between start/resume and halt/end, inside the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lfr_inference.domain.deployment_state import DeploymentState, apply

START = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
FORM = {
    "window": {"start": START.isoformat(), "end": (START + timedelta(hours=8)).isoformat()},
    "threshold": {"value": 0.64, "justification": None},
    "watchlist_id": "wl-1",
    "cameras": ["cam-1", "cam-2"],
}


def fold(*events: tuple[str, dict]) -> DeploymentState:
    state = DeploymentState("dep-1")
    for event_type, data in events:
        state = apply(state, event_type, data)
    return state


def test_a_started_deployment_is_live_only_inside_its_window():
    state = fold(("DeploymentDrafted", {"form": FORM}), ("DeploymentStarted", {}))
    assert state.threshold == 0.64 and state.cameras == ("cam-1", "cam-2") and state.watchlist_id == "wl-1"
    assert state.is_live(START + timedelta(hours=1))
    assert state.not_live_reason(START - timedelta(seconds=1)) == "before_window"
    assert state.not_live_reason(START + timedelta(hours=8)) == "after_window"


def test_halt_stops_and_resume_restarts():
    at = START + timedelta(hours=1)
    halted = fold(
        ("DeploymentDrafted", {"form": FORM}),
        ("DeploymentStarted", {}),
        ("DeploymentHalted", {"reason": "disorder"}),
    )
    assert halted.not_live_reason(at) == "not_processing"
    assert apply(halted, "DeploymentResumed", {"reason": "calm"}).is_live(at)
    assert not apply(halted, "DeploymentEnded", {"end_reason": "ended_by_silver"}).is_live(at)


def test_authorisation_and_threshold_changes_update_the_threshold():
    state = fold(
        ("DeploymentDrafted", {"form": FORM}),
        ("DeploymentAuthorised", {"watchlist_id": "wl-2", "watchlist_version": 3, "threshold": 0.7}),
    )
    assert (state.threshold, state.watchlist_id, state.watchlist_version) == (0.7, "wl-2", 3)
    changed = apply(state, "ThresholdChanged", {"previous": {"value": 0.7}, "threshold": {"value": 0.62}})
    assert changed.threshold == 0.62


def test_never_started_or_unknown_events_are_not_live():
    state = fold(("DeploymentDrafted", {"form": FORM}), ("CommunityImpactReassessed", {"assessment": {}}))
    assert state.not_live_reason(START + timedelta(hours=1)) == "not_processing"
    assert not DeploymentState("x", processing=True).is_live(START)  # no window known: never live
