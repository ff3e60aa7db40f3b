"""The post-deployment report folded from a synthetic history: every figure worked out by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from lfr_audit.domain.report import fold
from lfr_audit.domain.report_summary import summarise

from tests.unit.audit.report_history import DEPLOYMENT, deployment_history

AT = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)


def _report(public: bool) -> dict[str, object]:
    history = deployment_history()
    rows = [(n, entry.as_payload()) for n, entry in enumerate(history.entries)]
    return summarise(fold(DEPLOYMENT, rows), public=public, generated_at=AT, tree_size=len(rows))


def test_report_figures_from_a_synthetic_history() -> None:
    report = _report(public=False)
    assert report["status"] == "ended"
    assert report["window"] == {
        "authorised_start": "2026-11-20T08:00:00Z", "authorised_end": "2026-11-20T16:00:00Z",
        "started_at": "2026-11-20T08:00:00.000000Z", "ended_at": "2026-11-20T15:00:00.000000Z",
        "end_reason": "ended_by_silver",
    }  # fmt: skip
    assert report["threshold"]["value"] == 0.58
    assert report["threshold"]["below_default"] is True
    assert report["threshold"]["justification"] == "Low-light approach; AO advised"
    watchlist = report["watchlist"]
    assert watchlist["size"] == 3  # four added, one removed
    assert watchlist["by_category"] == {"missing_or_at_risk": 1, "wanted_on_warrant": 2}
    assert watchlist["by_image_source"] == {"custody": 2, "family_supplied": 1}
    assert watchlist["by_age_band"] == {"18_plus": 2, "under_13": 1}
    assert watchlist["with_disability"] == 1
    assert report["cameras"] == {"count": 3, "ids": ["cam-1", "cam-2", "cam-3"], "outages": 1}
    assert report["faces_processed"] == 5000
    assert report["matches"] == 5
    assert report["alerts"] == {
        "total": 5,
        "by_status": {"pending": 0, "dismissed": 1, "engaged": 3, "not_reviewed": 1},
        "outcomes": {"confirmed_match": 1, "not_the_person": 1, "not_located": 1},
        "true_alerts": 1,
        "false_alerts": 2,  # one dismissed by the operator, one not the person on engagement
        "undetermined": 2,
        "suppressed": 1,
    }
    rate = report["false_alert_rate"]
    assert (rate["rate"], rate["one_in"], rate["within_direction"]) == (2 / 5000, 2500, True)
    assert abs(rate["per_1000"] - 0.4) < 1e-12
    timing = report["time_to_decision_seconds"]
    assert (timing["count"], timing["median"], timing["p95"], timing["max"]) == (4, 25.0, 40.0, 40.0)
    assert [h["reason"] for h in report["halts"]] == ["crowd surge"]
    assert report["halts"][0]["resumed_at"] == "2026-11-20T11:00:00.000000Z"
    assert report["deletions"] == {"alert_media": 3, "key:alert_media": 1, "watchlist_media": 2}
    assert [a["scores"]["experienced"] for a in report["community_impact"]] == [5, 4]
    assert report["authorisation"]["expected_false_alerts_per_1000"] == 0.2
    assert report["other_events"] == {"SomethingNewHappened": 1}  # tolerated, counted
    assert report["warnings"] == []


def test_public_version_has_the_figures_but_no_personal_data() -> None:
    private, public = _report(public=False), _report(public=True)
    for key in ("faces_processed", "alerts", "false_alert_rate", "threshold", "window", "deletions"):
        assert public[key] == private[key]
    assert public["watchlist"]["size"] == 3 and "entry_ids" not in public["watchlist"]
    text = json.dumps(public)
    personal_data = ("supt-silver", "ch-supt-ao", "wlm-1", "officer-1", "op-anna", "crowd surge",
                     "e0", "Independent Advisory Group", "LA-2026-114", "named person", "alert-0",
                     "calm")  # fmt: skip
    for personal in personal_data:
        assert personal not in text, personal
    assert public["community_impact"][0] == {
        "assessed_at": "2026-11-19T08:00:00Z",
        "scores": {"experienced": 5, "evidenced": 5, "potential": 4},
        "stakeholders_consulted": 1,
    }


def test_unreadable_events_become_warnings_not_failures() -> None:
    history = deployment_history()
    history.deployment("CommunityImpactReassessed", 900, {"assessment": "garbled"})
    rows = [(n, entry.as_payload()) for n, entry in enumerate(history.entries)]
    report = summarise(fold(DEPLOYMENT, rows), public=False, generated_at=AT)
    assert len(report["warnings"]) == 1 and "CommunityImpactReassessed" in report["warnings"][0]
    assert report["faces_processed"] == 5000
