"""The report document (JSON-ready) from a fold, full or public.

The public transparency version drops every personal or operational detail: names and ids of officers,
watchlist entry ids and reasons, alert ids, free-text reasons and notes, stakeholder names, the legal
advice reference. It keeps what the public is promised: purpose, place, window, threshold and its
justification, watchlist size and composition counts, cameras, faces processed, alerts and outcomes,
false alert rate, time to decision, halts (times), deletions and the community tension scores.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

from lfr_audit.domain.report import (
    FALSE_ALERT_DIRECTION,
    FALSE_OUTCOMES,
    TRUE_OUTCOMES,
    ReportFold,
    age_band_on,
)

DEFAULT_THRESHOLD = 0.6


def summarise(
    fold: ReportFold, *, public: bool, generated_at: datetime, tree_size: int | None = None
) -> dict[str, Any]:
    form = fold.form
    window = form.get("window") or {}
    alerts = _alerts(fold)
    document: dict[str, Any] = {
        "format": "lfr-deployment-report/1",
        "public": public,
        "deployment_id": fold.deployment_id,
        "generated_at": generated_at.astimezone(UTC).isoformat(),
        "status": fold.status,
        "purpose": form.get("purpose"),
        "location": form.get("location"),
        "window": {
            "authorised_start": window.get("start"),
            "authorised_end": window.get("end"),
            "started_at": fold.started_at[0] if fold.started_at else None,
            "ended_at": fold.ended.get("at"),
            "end_reason": fold.ended.get("reason"),
        },
        "threshold": _threshold(fold),
        "authorisation": _authorisation(fold, public),
        "watchlist": _watchlist(fold, public),
        "cameras": {"count": len(fold.cameras), "ids": sorted(fold.cameras), "outages": fold.camera_outages},
        "faces_processed": fold.faces_processed,
        "matches": fold.matches,
        "alerts": alerts,
        "false_alert_rate": _false_alert_rate(alerts["false_alerts"], fold.faces_processed),
        "time_to_decision_seconds": _decision_times(fold),
        "halts": [{"at": h["at"], "resumed_at": h["resumed_at"]} if public else dict(h) for h in fold.halts],
        "deletions": dict(sorted(fold.deletions.items())),
        "holds": dict(sorted(fold.holds.items())),
        "community_impact": [_cia(item, public) for item in fold.cia],
        "post_deployment_review": _review(fold, public),
        "ledger": {
            "entries": fold.ledger_entries,
            "first_sequence": fold.first_sequence,
            "last_sequence": fold.last_sequence,
            "tree_size": tree_size,
        },  # fmt: skip
    }
    if not public:
        document["other_events"] = dict(sorted(fold.other_events.items()))
        document["warnings"] = list(fold.warnings)
    return document


def _threshold(fold: ReportFold) -> dict[str, Any]:
    value = fold.threshold.get("value", fold.authorisation.get("threshold"))
    return {
        "value": value,
        "justification": fold.threshold.get("justification"),
        "default": DEFAULT_THRESHOLD,
        "below_default": value is not None and float(value) < DEFAULT_THRESHOLD,
    }


def _authorisation(fold: ReportFold, public: bool) -> dict[str, Any] | None:
    if not fold.authorisation:
        return None
    granted = fold.authorisation
    result = {
        "at": granted.get("at"),
        "watchlist_size": granted.get("watchlist_size"),
        "expected_false_alerts_per_1000": granted.get("expected_false_alerts_per_1000"),
        "calibration_model_version": granted.get("calibration_model_version"),
    }
    if not public:
        result |= {"by": granted.get("by"), "notes": granted.get("notes", "")}
    return result


def _watchlist(fold: ReportFold, public: bool) -> dict[str, Any]:
    on = _window_start(fold)
    details = [entry["details"] for entry in fold.entries.values()]
    composition = {
        "size": len(details),
        "by_category": dict(sorted(Counter(str(d.get("category")) for d in details).items())),
        "by_image_source": dict(sorted(Counter(str(d.get("image_source")) for d in details).items())),
        "by_age_band": dict(sorted(Counter(age_band_on(d, on) for d in details).items())),
        "with_disability": sum(1 for d in details if d.get("disability")),
        "declared": fold.form.get("composition"),
    }
    if not public:
        composition |= {
            "ids": sorted(fold.watchlist_ids),
            "entry_ids": sorted(fold.entries),
            "legal_advice_reference": fold.form.get("legal_advice_reference"),
        }
    return composition


def _window_start(fold: ReportFold) -> date:
    start = (fold.form.get("window") or {}).get("start")
    try:
        return datetime.fromisoformat(str(start).replace("Z", "+00:00")).date()
    except ValueError:
        return datetime.now(UTC).date()


def _alerts(fold: ReportFold) -> dict[str, Any]:
    statuses = Counter(alert.status for alert in fold.alerts.values())
    outcomes = Counter(alert.outcome for alert in fold.alerts.values() if alert.outcome)
    true_alerts = sum(outcomes[o] for o in TRUE_OUTCOMES)
    false_alerts = sum(outcomes[o] for o in FALSE_OUTCOMES) + statuses["dismissed"]
    total = len(fold.alerts)
    return {
        "total": total,
        "by_status": {key: statuses[key] for key in ("pending", "dismissed", "engaged", "not_reviewed")},
        "outcomes": {key: outcomes[key] for key in ("confirmed_match", "not_the_person", "not_located")},
        "true_alerts": true_alerts,
        "false_alerts": false_alerts,
        "undetermined": total - true_alerts - false_alerts,
        "suppressed": fold.suppressed,
    }


def _false_alert_rate(false_alerts: int, faces: int) -> dict[str, Any]:
    rate = false_alerts / faces if faces else None
    return {
        "false_alerts": false_alerts,
        "faces_processed": faces,
        "rate": rate,
        "per_1000": rate * 1000 if rate is not None else None,
        "one_in": round(1 / rate) if rate else None,
        "direction": "at most 1 false alert in 1,000 faces processed",
        "direction_rate": FALSE_ALERT_DIRECTION,
        "within_direction": rate <= FALSE_ALERT_DIRECTION if rate is not None else None,
    }


def _decision_times(fold: ReportFold) -> dict[str, Any]:
    seconds = sorted(
        seconds
        for seconds in (_seconds_to_decide(alert) for alert in fold.alerts.values())
        if seconds is not None
    )
    if not seconds:
        return {"count": 0, "median": None, "p95": None, "max": None}
    middle = len(seconds) // 2
    median = seconds[middle] if len(seconds) % 2 else (seconds[middle - 1] + seconds[middle]) / 2
    p95 = seconds[max(0, math.ceil(0.95 * len(seconds)) - 1)]  # nearest rank
    return {"count": len(seconds), "median": median, "p95": p95, "max": seconds[-1], "all": seconds}


def _seconds_to_decide(alert: Any) -> float | None:
    if alert.decision_seconds is not None:
        return float(alert.decision_seconds)
    if alert.decided_at is not None and alert.raised_at is not None:
        return float((alert.decided_at - alert.raised_at).total_seconds())
    return None


def _cia(item: dict[str, Any], public: bool) -> dict[str, Any]:
    if public:
        return {"assessed_at": item["assessed_at"], "scores": item["scores"],
                "stakeholders_consulted": len(item["stakeholders_consulted"])}  # fmt: skip
    return dict(item)


def _review(fold: ReportFold, public: bool) -> dict[str, Any] | None:
    if not fold.review:
        return None
    if public:
        return {
            "at": fold.review.get("at"),
            "false_alerts_examined": fold.review.get("false_alerts_examined"),
        }
    return dict(fold.review)
