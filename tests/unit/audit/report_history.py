"""A synthetic but realistic history of one deployment, as ledger entries from the services that own
each event (positions numbered per service, as their stores would). The expected report figures are
worked out by hand in the test that uses it."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import NAMESPACE_URL, uuid5

from lfr_audit.domain.canonical import LedgerEntry, format_time

DEPLOYMENT = "dep-7f3a"
WATCHLIST = "wl-31"
T0 = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
WINDOW = {"start": "2026-11-20T08:00:00Z", "end": "2026-11-20T16:00:00Z"}

FORM = {
    "purpose": {"aim": "prevention_of_disorder_or_crime", "description": "Locate wanted offenders"},
    "location": {"name": "Central station approach", "zones": ["north concourse"]},
    "window": WINDOW,
    "cameras": ["cam-1", "cam-2"],
    "threshold": {"value": 0.58, "justification": "Low-light approach; AO advised"},
    "watchlist_id": WATCHLIST,
    "composition": {"under_18": True, "under_13": True, "disability": True},
    "legal_advice_reference": "LA-2026-114",
    "operators": ["op-anna"],
}


class History:
    def __init__(self) -> None:
        self.entries: list[LedgerEntry] = []
        self._positions: Counter[str] = Counter()
        self._versions: Counter[str] = Counter()

    def add(
        self, service: str, stream_type: str, stream_id: str, event_type: str, minutes: float,
        data: dict[str, Any], actor: str = "officer-1", role: str = "operator",
    ) -> LedgerEntry:  # fmt: skip
        self._positions[service] += 1
        self._versions[stream_id] += 1
        moment = format_time(T0 + timedelta(minutes=minutes))
        entry = LedgerEntry(
            source_service=service,
            event_id=str(uuid5(NAMESPACE_URL, f"{service}/{self._positions[service]}/{event_type}")),
            stream_id=stream_id,
            stream_type=stream_type,
            version=self._versions[stream_id],
            source_position=self._positions[service],
            event_type=event_type,
            schema_version=1,
            data=data,
            metadata={
                "actor": actor,
                "role": role,
                "correlation_id": None,
                "causation_id": None,
                "traceparent": None,
                "tracestate": None,
            },  # fmt: skip
            occurred_at=moment,
            recorded_at=moment,
        )
        self.entries.append(entry)
        return entry

    def deployment(self, event_type: str, minutes: float, data: dict[str, Any], **who: str) -> None:
        self.add("deployments", "deployment", DEPLOYMENT, event_type, minutes, data, **who)

    def alert(self, alert_id: str, event_type: str, minutes: float, data: dict[str, Any]) -> None:
        self.add("alerts", "alert", alert_id, event_type, minutes, data)


def entry_details(category: str, **extra: Any) -> dict[str, Any]:
    return {"category": category, "reason": "named person's warrant", "image_source": "custody",
            "approved_by": "insp-wl", "date_of_birth": None, "age_band": "18_plus", "disability": False,
            **extra}  # fmt: skip


def deployment_history() -> History:
    h = History()
    silver = {"actor": "supt-silver", "role": "silver_commander"}
    h.deployment("DeploymentDrafted", 0, {"form": FORM}, **silver)
    cia = {"scores": {"experienced": 5, "evidenced": 5, "potential": 4},
           "assessed_at": "2026-11-19T08:00:00Z",
           "stakeholders_consulted": ["Independent Advisory Group"], "notes": "calm"}  # fmt: skip
    h.deployment("CommunityImpactReassessed", 1, {"assessment": cia}, **silver)
    cia2 = dict(
        cia, scores={"experienced": 4, "evidenced": 5, "potential": 4}, assessed_at="2026-11-20T08:00:00Z"
    )
    h.deployment("CommunityImpactReassessed", 2, {"assessment": cia2}, **silver)
    h.add(
        "watchlists",
        "watchlist",
        WATCHLIST,
        "WatchlistCreated",
        3,
        {"deployment_id": DEPLOYMENT, "name": "wl"},
    )
    images = [{"image_blob_id": "watchlist_media/dep-7f3a/i1",
               "template_blob_id": "watchlist_media/dep-7f3a/t1", "taken_on": "2025-01-01"}]  # fmt: skip
    for n, details in enumerate([
        entry_details("wanted_on_warrant"),
        entry_details("wanted_on_warrant", disability=True),
        entry_details("missing_or_at_risk", image_source="family_supplied", age_band=None,
                      date_of_birth="2014-05-01"),  # 12 on the window's first day
        entry_details("suspect"),
    ]):  # fmt: skip
        h.add("watchlists", "watchlist", WATCHLIST, "WatchlistEntryAdded", 4 + n,
              {"entry_id": f"e{n}", "details": details, "images": images, "warnings": [], "revision": n + 1},
              actor="wlm-1", role="watchlist_manager")  # fmt: skip
    h.add("watchlists", "watchlist", WATCHLIST, "WatchlistEntryRemoved", 9,
          {"entry_id": "e3", "reason": "arrested", "blob_ids": ["b"], "revision": 5})  # fmt: skip
    h.add(
        "watchlists",
        "watchlist",
        WATCHLIST,
        "WatchlistFrozen",
        10,
        {"deployment_id": DEPLOYMENT, "revision": 5},
    )
    authorised = {"watchlist_id": WATCHLIST, "watchlist_version": 5, "watchlist_size": 3, "threshold": 0.58,
                  "expected_false_alerts_per_1000": 0.2, "calibration_model_version": "m1",
                  "notes": ""}  # fmt: skip
    h.deployment("DeploymentAuthorised", 20, authorised, actor="ch-supt-ao", role="authorising_officer")
    h.deployment("DeploymentStarted", 60, {}, **silver)
    h.add("ingest", "camera", "cam-3", "CameraAttached", 61, {"deployment_id": DEPLOYMENT})
    for minutes, count in ((90, 1000), (150, 2500), (210, 1500)):
        h.add("inference", "tally", f"{DEPLOYMENT}/tally", "FacesProcessedTallied", minutes,
              {"deployment_id": DEPLOYMENT, "camera_id": "cam-1", "faces_compared": count,
               "faces_detected": count + 100, "frames": 900})  # fmt: skip
    for n, (decision, after_s, outcome) in enumerate([
        ("AlertEngaged", 20, "confirmed_match"),
        ("AlertDismissed", 10, None),
        ("AlertEngaged", 30, "not_the_person"),
        ("AlertNotReviewed", None, None),
        ("AlertEngaged", 40, "not_located"),
    ]):  # fmt: skip
        alert, raised = f"alert-{n}", 100 + 10 * n
        h.add(
            "inference",
            "match",
            f"{DEPLOYMENT}/match-{n}",
            "FaceMatched",
            raised - 0.01,
            {"deployment_id": DEPLOYMENT, "crop_blob_id": f"alert_media/{DEPLOYMENT}/c{n}", "score": 0.61},
        )
        h.alert(alert, "AlertRaised", raised, {"deployment_id": DEPLOYMENT, "score": 0.6 + n / 100,
                                              "entry_id": "e0", "camera_id": "cam-1"})  # fmt: skip
        if after_s is not None:
            data: dict[str, Any] = {"deployment_id": DEPLOYMENT}
            if outcome is None:
                data["reason"] = "not them"
            if n == 0:  # the alerts service states it; for the others the report works it out from times
                data["decision_seconds"] = float(after_s)
            h.alert(alert, decision, raised + after_s / 60 + (0.5 if n == 0 else 0), data)
        else:
            h.alert(alert, decision, raised + 15, {})
        if outcome is not None:
            h.alert(alert, "EngagementOutcomeRecorded", raised + 5,
                    {"deployment_id": DEPLOYMENT, "outcome": outcome, "action": "none"})  # fmt: skip
    h.alert("alert-1", "AlertSuppressed", 200, {"deployment_id": DEPLOYMENT})
    h.deployment("DeploymentHalted", 230, {"reason": "crowd surge"}, **silver)
    h.add(
        "ingest", "camera", "cam-3", "CameraDisconnected", 231, {"deployment_id": DEPLOYMENT, "reason": "eof"}
    )
    h.deployment("DeploymentResumed", 240, {"reason": "crowd dispersed"}, **silver)
    h.deployment("DeploymentEnded", 480, {"end_reason": "ended_by_silver", "note": ""}, **silver)
    h.add(
        "retention",
        "receipt",
        "r-1",
        "DeletionReceiptIssued",
        600,
        {
            "deployment_id": DEPLOYMENT,
            "data_class": "alert_media",
            "ids": ["c0", "c1", "c2"],
            "policy": "31d",
            "action": "delete_blobs",
        },
    )
    h.add("retention", "receipt", "r-2", "DeletionReceiptIssued", 601,
          {"deployment_id": DEPLOYMENT, "data_class": "alert_media", "ids": [f"{DEPLOYMENT}/alert_media"],
           "policy": "31d", "action": "destroy_key"})  # fmt: skip
    h.add(
        "watchlists",
        "watchlist",
        WATCHLIST,
        "WatchlistPurged",
        700,
        {"reason": "ended", "blob_ids": ["a", "b"]},
    )
    h.deployment("SomethingNewHappened", 800, {"what": "a future event type"})
    return h
