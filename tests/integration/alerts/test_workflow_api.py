"""The adjudication workflow over the real HTTP API and SQLite: raise, review, dismiss/engage, outcome,
suppression of tracks judged not the person, the not-reviewed scheduler, counts and role checks."""

from __future__ import annotations

import uuid
from datetime import timedelta

from lfr_alerts.app.handlers import alert_id_for

from tests.integration.alerts._env import AlertsEnv, face_matched


async def test_match_raises_one_pending_alert_even_when_redelivered(alerts_env: AlertsEnv) -> None:
    message = face_matched()
    assert await alerts_env.deliver(message) is True
    assert await alerts_env.deliver(message) is False  # redelivery: tracking row says "seen"
    alert_id = alert_id_for(message.event_id)
    async with alerts_env.client("operator") as client:
        listing = (await client.get("/api/v1/alerts", params={"status": "open"})).json()
        detail = (await client.get(f"/api/v1/alerts/{alert_id}")).json()
    assert [a["alert_id"] for a in listing["alerts"]] == [alert_id]
    assert detail["status"] == "pending" and detail["score"] == 0.74 and detail["entry_id"] == "ent-1"
    assert detail["captured_at"].startswith("2026-05-01T12:00:00")
    assert "crop" not in str(detail).replace("crop_blob", "")  # references only, never image bytes


async def test_operator_engages_and_engagement_officer_records_outcome(alerts_env: AlertsEnv) -> None:
    message = face_matched()
    await alerts_env.deliver(message)
    alert_id = alert_id_for(message.event_id)
    async with alerts_env.client("operator", "op-ann") as operator:
        alerts_env.clock.advance(timedelta(seconds=3))
        assert (await operator.post(f"/api/v1/alerts/{alert_id}/review")).json()["status"] == "in_review"
        alerts_env.clock.advance(timedelta(seconds=5))
        engaged = await operator.post(f"/api/v1/alerts/{alert_id}/engage", json={"note": "PC 12 sent"})
        assert engaged.status_code == 200 and engaged.json()["status"] == "engaged"
        refused = await operator.post(
            f"/api/v1/alerts/{alert_id}/outcome", json={"outcome": "confirmed_match"}
        )
        assert refused.status_code == 403  # operators decide alerts; only the officer records outcomes
    async with alerts_env.client("engagement_officer", "eo-bob") as officer:
        alerts_env.clock.advance(timedelta(seconds=100))
        outcome = await officer.post(
            f"/api/v1/alerts/{alert_id}/outcome",
            json={"outcome": "confirmed_match", "action": "words_of_advice"},
        )
        assert outcome.status_code == 200, outcome.text
        again = await officer.post(f"/api/v1/alerts/{alert_id}/outcome", json={"outcome": "not_located"})
        assert again.status_code == 422 and again.json()["error"]["code"] == "alert_not_engaged"
        assert (await officer.post(f"/api/v1/alerts/{alert_id}/dismiss", json={"reason": "duplicate"})
                ).status_code == 403  # fmt: skip

    stored = await alerts_env.parts.ctx.db.reader().read_stream(alert_id)
    steps = [
        (e.event_type, e.metadata.actor, e.metadata.role, e.data.get("decision_seconds")) for e in stored
    ]
    assert steps == [
        ("AlertRaised", "lfr-alerts", "system", None),
        ("AlertReviewStarted", "op-ann", "operator", 3.0),
        ("AlertEngaged", "op-ann", "operator", 8.0),
        ("EngagementOutcomeRecorded", "eo-bob", "engagement_officer", 100.0),
    ]
    assert all(e.data["deployment_id"] == "dep-1" for e in stored)
    assert stored[-1].data["action"] == "words_of_advice"
    assert stored[1].metadata.correlation_id  # the request's correlation id threads into the event

    async with alerts_env.client("silver_commander") as silver:
        counts = (await silver.get("/api/v1/alerts/counts", params={"deployment_id": "dep-1"})).json()
    assert counts["deployments"]["dep-1"]["alerts"] == 1
    assert counts["deployments"]["dep-1"]["confirmed_match"] == 1


async def test_track_judged_not_the_person_is_suppressed_and_counted(alerts_env: AlertsEnv) -> None:
    first = face_matched(track_id="trk-9", entry_id="ent-4")
    await alerts_env.deliver(first)
    async with alerts_env.client("operator") as operator:
        dismissed = await operator.post(
            f"/api/v1/alerts/{alert_id_for(first.event_id)}/dismiss",
            json={"reason": "not_the_person", "note": "different build"},
        )
        assert dismissed.status_code == 200
        again = face_matched(track_id="trk-9", entry_id="ent-4")
        other_subject = face_matched(track_id="trk-9", entry_id="ent-5")
        other_track = face_matched(track_id="trk-10", entry_id="ent-4")
        for message in (again, other_subject, other_track):
            await alerts_env.deliver(message)
        suppressed = (await operator.get(f"/api/v1/alerts/{alert_id_for(again.event_id)}")).json()
        assert suppressed["status"] == "suppressed"
        assert suppressed["suppressed_by_alert_id"] == alert_id_for(first.event_id)
        assert (await operator.get(f"/api/v1/alerts/{alert_id_for(other_subject.event_id)}")).json()[
            "status"] == "pending"  # fmt: skip
        assert (await operator.get(f"/api/v1/alerts/{alert_id_for(other_track.event_id)}")).json()[
            "status"] == "pending"  # fmt: skip
        queue = (await operator.get("/api/v1/alerts", params={"status": "open"})).json()["alerts"]
        assert alert_id_for(again.event_id) not in {a["alert_id"] for a in queue}
        counts = (await operator.get("/api/v1/alerts/counts")).json()["deployments"]["dep-1"]
    assert counts["suppressed"] == 1 and counts["dismissed"] == 1 and counts["alerts"] == 3
    stored = await alerts_env.parts.ctx.db.reader().read_stream(alert_id_for(again.event_id))
    assert [e.event_type for e in stored] == ["AlertSuppressed"]


async def test_unreviewed_alert_times_out_on_the_injected_clock(alerts_env: AlertsEnv) -> None:
    ignored, looked_at = face_matched(track_id="a"), face_matched(track_id="b")
    await alerts_env.deliver(ignored)
    await alerts_env.deliver(looked_at)
    async with alerts_env.client("operator") as operator:
        await operator.post(f"/api/v1/alerts/{alert_id_for(looked_at.event_id)}/review")
    alerts_env.clock.advance(timedelta(seconds=59))
    assert await alerts_env.parts.scheduler.tick() == []
    alerts_env.clock.advance(timedelta(seconds=2))
    assert await alerts_env.parts.scheduler.tick() == [alert_id_for(ignored.event_id)]
    assert await alerts_env.parts.scheduler.tick() == []
    async with alerts_env.client("operator") as operator:
        view = (await operator.get(f"/api/v1/alerts/{alert_id_for(ignored.event_id)}")).json()
        late = await operator.post(f"/api/v1/alerts/{alert_id_for(ignored.event_id)}/engage", json={})
    assert view["status"] == "not_reviewed" and view["history"][-1]["decision_seconds"] == 61.0
    assert late.status_code == 422 and late.json()["error"]["code"] == "alert_not_open"


async def test_health_answers_under_the_prefix(alerts_env: AlertsEnv) -> None:
    async with alerts_env.client() as anonymous:
        assert (await anonymous.get("/api/v1/alerts/healthz")).status_code == 200
        assert (await anonymous.get("/api/v1/alerts/readyz")).status_code in (200, 503)


async def test_roles_that_may_not_see_or_decide(alerts_env: AlertsEnv) -> None:
    message = face_matched()
    await alerts_env.deliver(message)
    alert_id = alert_id_for(message.event_id)
    async with alerts_env.client("admin") as admin:
        assert (await admin.get("/api/v1/alerts")).status_code == 403
    async with alerts_env.client("oversight") as oversight:
        assert (await oversight.get("/api/v1/alerts")).status_code == 200
        assert (await oversight.post(f"/api/v1/alerts/{alert_id}/review")).status_code == 403
    async with alerts_env.client() as anonymous:
        assert (await anonymous.get("/api/v1/alerts")).status_code == 401
        token = alerts_env.token("operator")
        # The query-string token is for the SSE endpoint only.
        assert (await anonymous.get("/api/v1/alerts", params={"access_token": token})).status_code == 401
    async with alerts_env.client("operator") as operator:
        bad = await operator.post(f"/api/v1/alerts/{alert_id}/dismiss", json={"reason": "other"})
        assert bad.status_code == 400
        missing = await operator.get(f"/api/v1/alerts/{uuid.uuid4()}")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "alert_not_found"
