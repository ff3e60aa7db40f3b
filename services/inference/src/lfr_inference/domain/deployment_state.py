"""What inference needs to know about a deployment, folded from the deployments service's events.

A deployment is *processing* only between `DeploymentStarted`/`DeploymentResumed` and the next
`DeploymentHalted`/`DeploymentEnded`, and only inside its authorised window (checked against the clock at
each frame, so a window that ends stops processing even before any event says so). Everything here is
non-biometric: ids, times, the threshold, the watchlist reference.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from lfr_platform.clock import utc

DEFAULT_THRESHOLD = 0.6


@dataclass(frozen=True)
class DeploymentState:
    deployment_id: str
    processing: bool = False
    window_start: datetime | None = None
    window_end: datetime | None = None
    threshold: float = DEFAULT_THRESHOLD
    watchlist_id: str | None = None
    watchlist_version: int | None = None
    cameras: tuple[str, ...] = ()
    last_event: str = ""

    def is_live(self, now: datetime) -> bool:
        """Processing, and inside the window (a deployment without a known window is never live)."""
        if not self.processing or self.window_start is None or self.window_end is None:
            return False
        return self.window_start <= now < self.window_end

    def not_live_reason(self, now: datetime) -> str | None:
        if not self.processing:
            return "not_processing"
        if self.window_start is None or self.window_end is None:
            return "no_window"
        if now < self.window_start:
            return "before_window"
        if now >= self.window_end:
            return "after_window"
        return None


STARTS = frozenset({"DeploymentStarted", "DeploymentResumed"})
STOPS = frozenset({"DeploymentHalted", "DeploymentEnded", "AuthorisationLapsed"})
RELEVANT = STARTS | STOPS | frozenset(
    {"DeploymentDrafted", "Form1Amended", "ThresholdChanged", "DeploymentAuthorised"}
)


def _form_fields(form: dict[str, Any]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    window = form.get("window") or {}
    if window.get("start") and window.get("end"):
        fields["window_start"] = utc(datetime.fromisoformat(window["start"]))
        fields["window_end"] = utc(datetime.fromisoformat(window["end"]))
    threshold = form.get("threshold")
    if isinstance(threshold, dict) and threshold.get("value") is not None:
        fields["threshold"] = float(threshold["value"])
    if form.get("watchlist_id"):
        fields["watchlist_id"] = str(form["watchlist_id"])
    if form.get("cameras") is not None:
        fields["cameras"] = tuple(str(c) for c in form["cameras"])
    return fields


def apply(state: DeploymentState, event_type: str, data: dict[str, Any]) -> DeploymentState:
    """The state after one deployment event (unknown events leave it unchanged)."""
    if event_type not in RELEVANT:
        return state
    changes: dict[str, Any] = {"last_event": event_type}
    if event_type in ("DeploymentDrafted", "Form1Amended"):
        changes |= _form_fields(data.get("form") or {})
    elif event_type == "ThresholdChanged":
        threshold = data.get("threshold") or {}
        value = threshold.get("value") if isinstance(threshold, dict) else threshold
        if value is not None:
            changes["threshold"] = float(value)
    elif event_type == "DeploymentAuthorised":
        changes["watchlist_id"] = data.get("watchlist_id") or state.watchlist_id
        if data.get("watchlist_version") is not None:
            changes["watchlist_version"] = int(data["watchlist_version"])
        if data.get("threshold") is not None:
            changes["threshold"] = float(data["threshold"])
    elif event_type in STARTS:
        changes["processing"] = True
    elif event_type in STOPS:
        changes["processing"] = False
    return replace(state, **changes)
