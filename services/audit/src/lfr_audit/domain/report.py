"""The post-deployment report, folded from the ledger's entries for one deployment (pure).

Event names this fold relies on (anything else is counted under `other_events`, never an error):

deployments (lfr_deployments.domain.events, committed):
  DeploymentDrafted{form}, Form1Amended{form},
  ThresholdChanged{threshold{value, justification}},
  CommunityImpactReassessed{assessment{scores{experienced, evidenced, potential}, assessed_at,
  stakeholders_consulted, notes}}, DeploymentSubmitted,
  DeploymentAuthorised{watchlist_id, watchlist_size, threshold, expected_false_alerts_per_1000},
  AuthorisationRefused, DeploymentStarted, DeploymentHalted{reason}, DeploymentResumed,
  DeploymentEnded{end_reason}, PostDeploymentReviewRecorded{false_alerts_examined, findings};
  Form 1: {purpose{aim, description}, location{name, zones}, window{start, end}, cameras, threshold{value,
  justification}, watchlist_id, composition{under_18, under_13, disability}, legal_advice_reference}.
  DataKeyDestroyed{data_class} (crypto-shredding; docs/architecture.md topics table).
watchlists (lfr_watchlists.domain.events, committed):
  WatchlistCreated{deployment_id}, WatchlistEntryAdded{entry_id, details{category, image_source,
  age_band, disability}, images[{taken_on}]} (schema 2: the band as listed; the personal details are
  sealed, never read here; schema 1 also had date_of_birth, still honoured), WatchlistEntryRemoved{entry_id},
  WatchlistFrozen, WatchlistPurged{blob_ids}.
inference (lfr_inference): FaceMatched{deployment_id, score}; FacesProcessedTallied{deployment_id,
  faces_compared, faces_detected} (also FacesProcessed / FacesTallied with count | faces | faces_processed).
ingest (lfr_ingest): CameraAttached{deployment_id} on the camera's stream; CameraDisconnected and
  CameraErrored{deployment_id} count as outages (also CameraDown); CameraConnected, CameraDetached.
alerts (lfr_alerts; every event carries deployment_id): AlertRaised{score}; AlertReviewStarted;
  AlertDismissed{reason, decision_seconds}; AlertEngaged{decision_seconds} (also EngagementDispatched);
  EngagementOutcomeRecorded{outcome: confirmed_match | not_the_person | not_located, action} (also
  AlertOutcomeRecorded, EngagementRecorded); AlertNotReviewed (also AlertExpired); AlertSuppressed.
retention (lfr_retention): DeletionReceiptIssued{data_class, ids, action: delete_blobs | destroy_key}
  (also DataDeleted, DeletionRecorded); HoldPlaced; HoldReleased (counted when they reach the fold).

Counting rules: a true alert is an engagement outcome `confirmed_match`; a false alert is an outcome
`not_the_person` or an operator's dismissal (the operator judged it not the person); `not_located`,
`not_reviewed` and undecided alerts are undetermined. False alert rate = false alerts / faces processed,
against the standing direction of at most 1 in 1,000. Faces processed = faces compared with the
watchlist (the tally's `faces_compared`). Time to decision = alert raised -> first human decision
(dismissed or engaged): the event's own `decision_seconds` when it has one, else the difference of
the two events' times.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from lfr_audit.domain.canonical import parse_time

FALSE_ALERT_DIRECTION = 1 / 1000
TRUE_OUTCOMES = {"confirmed_match"}
FALSE_OUTCOMES = {"not_the_person"}

FACES_EVENTS = {"FacesProcessed", "FacesProcessedTallied", "FacesTallied"}
OUTAGE_EVENTS = {"CameraDisconnected", "CameraErrored", "CameraDown"}
DECISION_EVENTS = {"AlertDismissed", "AlertEngaged", "EngagementDispatched"}
OUTCOME_EVENTS = {"AlertOutcomeRecorded", "EngagementOutcomeRecorded", "EngagementRecorded"}
NOT_REVIEWED_EVENTS = {"AlertNotReviewed", "AlertExpired"}
DELETION_EVENTS = {"DeletionReceiptIssued", "DataDeleted", "DeletionRecorded"}
# Known, and nothing in the report depends on them.
NOTHING_TO_COUNT = {
    "DeploymentSubmitted", "AuthorisationRefused", "AuthorisationLapsed", "WatchlistFrozen",
    "WatchlistReopened", "CameraDetached", "CameraUp", "CameraRegistered", "CameraConnected",
    "CameraUpdated", "CameraDecommissioned", "AlertReviewStarted", "DeploymentObserved",
}  # fmt: skip


@dataclass
class _Alert:
    raised_at: datetime | None = None
    score: float | None = None
    status: str = "pending"
    decided_at: datetime | None = None
    decision_seconds: float | None = None
    outcome: str | None = None


@dataclass
class ReportFold:
    deployment_id: str
    form: dict[str, Any] = field(default_factory=dict)
    status: str = "unknown"
    threshold: dict[str, Any] = field(default_factory=dict)
    authorisation: dict[str, Any] = field(default_factory=dict)
    started_at: list[str] = field(default_factory=list)
    ended: dict[str, Any] = field(default_factory=dict)
    halts: list[dict[str, Any]] = field(default_factory=list)
    cia: list[dict[str, Any]] = field(default_factory=list)
    watchlist_ids: set[str] = field(default_factory=set)
    entries: dict[str, dict[str, Any]] = field(default_factory=dict)
    cameras: set[str] = field(default_factory=set)
    camera_outages: int = 0
    faces_processed: int = 0
    matches: int = 0
    alerts: dict[str, _Alert] = field(default_factory=dict)
    suppressed: int = 0
    deletions: Counter[str] = field(default_factory=Counter)
    holds: Counter[str] = field(default_factory=Counter)
    review: dict[str, Any] = field(default_factory=dict)
    other_events: Counter[str] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    ledger_entries: int = 0
    first_sequence: int | None = None
    last_sequence: int | None = None

    def apply(self, sequence: int, entry: Mapping[str, Any]) -> None:
        self.ledger_entries += 1
        self.first_sequence = sequence if self.first_sequence is None else self.first_sequence
        self.last_sequence = sequence
        kind = str(entry.get("event_type", ""))
        handler = getattr(self, f"_on_{kind}", None)
        try:
            if handler is not None:
                handler(entry, entry.get("data") or {})
            elif not self._generic(kind, entry, entry.get("data") or {}):
                self.other_events[kind] += 1
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            self.warnings.append(f"entry {sequence} ({kind}) not understood: {type(error).__name__}: {error}")

    # deployments -------------------------------------------------------------------------------------

    def _on_DeploymentDrafted(self, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:  # noqa: N802
        self._take_form(data["form"])
        self.status = "draft"

    _on_Form1Amended = _on_DeploymentDrafted

    def _take_form(self, form: Mapping[str, Any]) -> None:
        self.form = dict(form)
        self.threshold = dict(form.get("threshold") or {})
        self.cameras |= {str(camera) for camera in form.get("cameras") or ()}
        if form.get("watchlist_id"):
            self.watchlist_ids.add(str(form["watchlist_id"]))

    def _on_ThresholdChanged(self, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:  # noqa: N802
        self.threshold = dict(data["threshold"])

    def _on_CommunityImpactReassessed(self, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:  # noqa: N802
        assessment = data["assessment"]
        self.cia.append(
            {
                "assessed_at": assessment.get("assessed_at"),
                "recorded_by": _actor(entry),
                "scores": dict(assessment["scores"]),
                "stakeholders_consulted": list(assessment.get("stakeholders_consulted") or ()),
                "notes": assessment.get("notes", ""),
            }
        )

    def _on_DeploymentAuthorised(self, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:  # noqa: N802
        self.status = "authorised"
        self.authorisation = {"at": entry["occurred_at"], "by": _actor(entry), **dict(data)}
        if data.get("watchlist_id"):
            self.watchlist_ids.add(str(data["watchlist_id"]))

    def _on_DeploymentStarted(self, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:  # noqa: N802
        self.status = "live"
        self.started_at.append(entry["occurred_at"])

    def _on_DeploymentResumed(self, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:  # noqa: N802
        self.status = "live"
        if self.halts and self.halts[-1].get("resumed_at") is None:
            self.halts[-1]["resumed_at"] = entry["occurred_at"]

    def _on_DeploymentHalted(self, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:  # noqa: N802
        self.status = "halted"
        self.halts.append({"at": entry["occurred_at"], "by": _actor(entry), "role": _role(entry),
                           "reason": data.get("reason", ""), "resumed_at": None})  # fmt: skip

    def _on_DeploymentEnded(self, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:  # noqa: N802
        self.status = "ended"
        self.ended = {"at": entry["occurred_at"], "reason": data.get("end_reason")}

    def _on_PostDeploymentReviewRecorded(self, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:  # noqa: N802
        self.review = {"at": entry["occurred_at"], "by": _actor(entry), **dict(data)}

    def _on_DataKeyDestroyed(self, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:  # noqa: N802
        self.deletions[f"key:{data.get('data_class', 'unknown')}"] += 1

    # watchlists --------------------------------------------------------------------------------------

    def _on_WatchlistCreated(self, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:  # noqa: N802
        self.watchlist_ids.add(str(entry["stream_id"]))

    def _on_WatchlistEntryAdded(self, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:  # noqa: N802
        self.entries[str(data["entry_id"])] = {"details": dict(data["details"]),
                                               "images": list(data.get("images") or ())}  # fmt: skip

    def _on_WatchlistEntryRemoved(self, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:  # noqa: N802
        self.entries.pop(str(data["entry_id"]), None)

    def _on_WatchlistPurged(self, entry: Mapping[str, Any], data: Mapping[str, Any]) -> None:  # noqa: N802
        self.deletions["watchlist_media"] += len(data.get("blob_ids") or ())

    # cameras, inference, alerts, retention -------------------------------------------------------------

    def _generic(self, kind: str, entry: Mapping[str, Any], data: Mapping[str, Any]) -> bool:
        alert_id = str(entry.get("stream_id"))
        if kind in FACES_EVENTS:
            faces = _first(data, "faces_compared", "count", "faces", "faces_processed", default=0)
            self.faces_processed += int(faces)
        elif kind == "FaceMatched":
            self.matches += 1
        elif kind == "CameraAttached":
            self.cameras.add(str(data.get("camera_id") or entry["stream_id"]))
        elif kind in OUTAGE_EVENTS:
            self.camera_outages += 1
        elif kind in NOTHING_TO_COUNT:
            pass
        elif kind == "AlertRaised":
            score = data.get("score")
            self.alerts[alert_id] = _Alert(raised_at=parse_time(entry["occurred_at"]),
                                           score=float(score) if score is not None else None)  # fmt: skip
        elif kind in DECISION_EVENTS:
            alert = self.alerts.setdefault(alert_id, _Alert())
            alert.status = "dismissed" if kind == "AlertDismissed" else "engaged"
            if alert.decided_at is None:
                alert.decided_at = parse_time(entry["occurred_at"])
                seconds = data.get("decision_seconds")
                alert.decision_seconds = float(seconds) if seconds is not None else None
        elif kind in OUTCOME_EVENTS:
            alert = self.alerts.setdefault(alert_id, _Alert())
            alert.outcome = str(data.get("outcome"))
            if alert.status == "pending":
                alert.status = "engaged"
        elif kind in NOT_REVIEWED_EVENTS:
            self.alerts.setdefault(alert_id, _Alert()).status = "not_reviewed"
        elif kind == "AlertSuppressed":
            self.suppressed += 1
        elif kind in DELETION_EVENTS:
            data_class = str(data.get("data_class", "unknown"))
            if data.get("action") == "destroy_key":
                self.deletions[f"key:{data_class}"] += 1
            else:
                ids = data.get("ids") or data.get("blob_ids")
                self.deletions[data_class] += len(ids) if isinstance(ids, list) else int(data.get("count", 1))
        elif kind in ("HoldPlaced", "HoldReleased"):
            self.holds[kind] += 1
        else:
            return False
        return True


def fold(deployment_id: str, rows: Iterable[tuple[int, Mapping[str, Any]]]) -> ReportFold:
    """Fold (sequence, ledger entry payload) pairs, in sequence order."""
    state = ReportFold(deployment_id)
    for sequence, entry in rows:
        state.apply(sequence, entry)
    return state


def _first(data: Mapping[str, Any], *keys: str, default: Any) -> Any:
    for key in keys:
        if data.get(key) is not None:
            return data[key]
    return default


def _actor(entry: Mapping[str, Any]) -> str | None:
    return (entry.get("metadata") or {}).get("actor")


def _role(entry: Mapping[str, Any]) -> str | None:
    return (entry.get("metadata") or {}).get("role")


def age_band_on(details: Mapping[str, Any], on: date) -> str:
    born = details.get("date_of_birth")
    if born:
        dob = date.fromisoformat(str(born))
        age = on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))
        return "under_13" if age < 13 else "13_to_17" if age < 18 else "18_plus"
    return str(details.get("age_band") or "unknown")
