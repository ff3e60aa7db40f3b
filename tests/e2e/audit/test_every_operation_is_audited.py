"""Every state-changing REST operation in the platform shows up in the audit ledger with actor and role.

Against the running platform (every service its own process, the embedded broker, Triton, the gateway):
the services' OpenAPI documents list the state-changing operations; the walk drives each one once, with a
user of its own and the role the permission matrix gives it, in the order a real deployment goes — a
deployment drafted, authorised, started on a camera streaming real faces (so its alerts are real
`FaceMatched` alerts), halted, resumed, ended and reviewed; a second one refused, its watchlist and camera
taken down — and then the ledger must hold, for each operation, an entry naming that user and role.
An operation that appears in a document and that the walk does not drive fails the test.
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from lfr_alerts.bench import bench_frames
from lfr_alerts.scenario import WatchlistPerson, blank_frame
from lfr_cli.topology import SERVICES

from tests.e2e.audit._walk import (
    AuditedScenario,
    Driven,
    Operation,
    documented_operations,
    not_in_ledger,
)
from tests.fixtures.services import Platform

pytestmark = pytest.mark.slow

FPS = 4.0
ALERTS_WITHIN_S = 120.0  # inference on a loaded CPU; the alerts come one appearance (3 s) apart
LEDGER_WITHIN_S = 60.0


def _refused_deployment(scenario: AuditedScenario, face: bytes) -> None:
    """Form 1 with a raised threshold, submitted and refused; then its watchlist and camera are taken down."""
    d, w = f"/api/v1/deployments/{scenario.deployment_id}", "/api/v1/watchlists"
    scenario.draft_form1([WatchlistPerson("entry-refused", "suspect (refused walk)", face, date(2024, 3, 1))])
    scenario.call(
        "raise the threshold",
        "silver_commander",
        "POST",
        f"{d}/threshold",
        json={"threshold": {"value": 0.65}, "reason": "crowded concourse: fewer false alerts"},
    )
    scenario.submit()
    scenario.call(
        "refuse authorisation",
        "authorising_officer",
        "POST",
        f"{d}/refuse",
        json={"reason": "the purpose is not specific enough for this location"},
    )
    scenario.connect_camera([blank_frame()], FPS)  # never streams: the deployment is not live
    cam = f"/api/v1/cameras/{scenario.camera_id}"
    scenario.call("rename the camera", "admin", "PATCH", cam, json={"name": "Concourse camera 2 (spare)"})
    scenario.call(
        "detach the camera",
        "silver_commander",
        "POST",
        f"{cam}/detach",
        json={"deployment_id": scenario.deployment_id, "reason": "authorisation refused"},
    )
    scenario.call(
        "decommission the camera",
        "admin",
        "POST",
        f"{cam}/decommission",
        json={"reason": "spare camera withdrawn"},
    )
    wl = f"{w}/{scenario.watchlist_id}"
    scenario.call(
        "remove the entry",
        "watchlist_manager",
        "DELETE",
        f"{wl}/entries/entry-refused",
        params={"reason": "no longer sought"},
    )
    scenario.call(
        "delete the watchlist",
        "watchlist_manager",
        "DELETE",
        wl,
        params={"reason": "deployment refused: watchlist not needed"},
    )


def _adjudicate_and_hold(scenario: AuditedScenario) -> None:
    """Two real alerts: one dismissed; one engaged, its outcome recorded, held for proceedings, released."""
    first, second = scenario.wait_for_alerts(2, ALERTS_WITHIN_S)
    scenario.call(
        "dismiss the repeat sighting",
        "operator",
        "POST",
        f"/api/v1/alerts/{second['alert_id']}/dismiss",
        json={"reason": "duplicate", "note": "same person, second appearance"},
    )
    scenario.adjudicate(first["alert_id"])  # review, engage, outcome
    hold = scenario.call_when_known(  # retention learns of the alert over Kafka
        "alert_not_found",
        "hold the alert for proceedings",
        "silver_commander",
        "POST",
        "/api/v1/retention/holds",
        json={
            "alert_id": first["alert_id"],
            "reason": "arrest: evidence for the charge",
            "proceedings_reference": "URN 01AB2345626",
            "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        },
    )
    scenario.call(
        "release the hold",
        "authorising_officer",
        "POST",
        f"/api/v1/retention/holds/{hold['hold_id']}/release",
        json={"reason": "charge withdrawn"},
    )
    scenario.call("run retention now", "admin", "POST", "/api/v1/retention/run")


def _halt_resume_end_review(scenario: AuditedScenario) -> None:
    d = f"/api/v1/deployments/{scenario.deployment_id}"
    scenario.call(
        "halt", "silver_commander", "POST", f"{d}/halt", json={"reason": "crowd surge at the barriers"}
    )
    scenario.call("resume", "silver_commander", "POST", f"{d}/resume", json={"reason": "crowd dispersed"})
    scenario.call("end", "silver_commander", "POST", f"{d}/end", json={"note": "operation complete"})
    scenario.call(
        "post-deployment review",
        "authorising_officer",
        "POST",
        f"{d}/review",
        json={"false_alerts_examined": 1, "findings": "one repeat sighting dismissed; no trend"},
    )


def test_every_state_changing_operation_is_in_the_ledger_with_actor_and_role(
    platform: Platform, face_images_dir: Path
) -> None:
    run = uuid.uuid4().hex[:8]
    with httpx.Client(base_url=platform.gateway_url, timeout=30) as client:
        documented = documented_operations(client, (p for s in SERVICES for p in s.prefixes))
        driven: dict[Operation, Driven] = {}

        def scenario(deployment_id: str) -> AuditedScenario:
            return AuditedScenario(
                platform.gateway_url,
                platform.issue_token,
                platform.data_dir,
                timeout=60,
                deployment_id=deployment_id,
                operations=frozenset(documented),
                run=run,
                driven=driven,
            )

        live, refused = scenario(f"audit-walk-{run}"), scenario(f"audit-walk-refused-{run}")
        try:
            person = WatchlistPerson(
                "entry-1",
                "wanted on warrant (audit walk)",
                (face_images_dir / "obama.jpg").read_bytes(),
                date(2024, 1, 1),
            )
            live.build_live_deployment(
                [person], bench_frames((face_images_dir / "obama2.jpg").read_bytes(), FPS), FPS
            )
            _refused_deployment(refused, (face_images_dir / "biden.jpg").read_bytes())
            _adjudicate_and_hold(live)
            _halt_resume_end_review(live)
        finally:
            live.close()
            refused.close()

        not_driven = sorted(documented - set(driven))
        assert not not_driven, "state-changing operations the walk does not drive:\n" + "\n".join(
            map(str, not_driven)
        )
        missing = not_in_ledger(
            client, platform.auth("oversight", f"walk-{run}-oversight"), driven.values(), LEDGER_WITHIN_S
        )
    assert not missing, "operations without an attributed ledger entry:\n" + "\n".join(missing)
