"""The end-to-end scenario over the platform's public REST API, shared by `lfr demo` and `lfr bench e2e`:
an authorised, live deployment with a watchlist built from real face images and one camera streaming an
image-sequence folder; then the people's decisions on its alert.

Every call is a named step; when a service refuses, `StepFailed` says which step, which service answered
and what it said, so a half-built platform fails with a message a person can act on.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

TokenFor = Callable[[str, str], str]  # (user, role) -> bearer token

USERS = {
    "silver_commander": "demo-silver",
    "authorising_officer": "demo-ao",
    "watchlist_manager": "demo-wlm",
    "admin": "demo-admin",
    "operator": "demo-operator",
    "engagement_officer": "demo-officer",
    "oversight": "demo-oversight",
}


class StepFailed(RuntimeError):
    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"step '{step}' failed: {detail}")
        self.step = step
        self.detail = detail


@dataclass(frozen=True)
class WatchlistPerson:
    entry_id: str
    label: str  # non-biometric description for the demo's output
    image: bytes
    taken_on: date


@dataclass
class Scenario:
    gateway_url: str
    token_for: TokenFor
    data_dir: Path
    say: Callable[[str], None] = lambda _line: None
    timeout: float = 30.0
    deployment_id: str = field(default_factory=lambda: f"demo-{uuid.uuid4().hex[:8]}")
    camera_id: str = ""
    watchlist_id: str = ""
    watchlist_size: int = 0

    def __post_init__(self) -> None:
        self.camera_id = self.camera_id or f"cam-{self.deployment_id}"
        self._client = httpx.Client(base_url=self.gateway_url, timeout=self.timeout)

    def close(self) -> None:
        self._client.close()

    # One named call ------------------------------------------------------------------------------------

    def call(
        self, step: str, role: str, method: str, path: str, *, user: str | None = None, **kwargs: Any
    ) -> Any:
        """`user` signs the call in as someone else holding `role` (default: the role's demo user)."""
        headers = {"Authorization": f"Bearer {self.token_for(user or USERS[role], role)}"}
        try:
            response = self._client.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            raise StepFailed(step, f"{method} {path}: the platform did not answer ({error})") from None
        if response.status_code >= 400:
            service = path.split("/")[3] if path.startswith("/api/v1/") else "gateway"
            try:
                problem = response.json()["error"]
                said = f"{problem['code']}: {problem['message']}"
            except (ValueError, KeyError, TypeError):
                said = response.text[:300]
            raise StepFailed(
                step,
                f"the {service} service refused {method} {path} with HTTP {response.status_code} ({said})",
            )
        return response.json() if response.content else None

    def call_when_known(
        self, refusal: str, step: str, role: str, method: str, path: str, **kwargs: Any
    ) -> Any:
        """`call`, repeated (up to `timeout` s) while the service refuses it with the code `refusal`: a
        service learns of the others' changes over Kafka, so just after one it may not know of it yet."""
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                return self.call(step, role, method, path, **kwargs)
            except StepFailed as failure:
                if f"({refusal}:" not in failure.detail or time.monotonic() >= deadline:
                    raise
            time.sleep(0.2)  # polling another service's catch-up: there is nothing to await from here

    # Setting up a live deployment --------------------------------------------------------------------

    def media_folder(self, frames: Sequence[bytes]) -> str:
        """Write the frames where the ingest service reads file sources (<data_dir>/media)."""
        folder = self.data_dir / "media" / self.camera_id
        folder.mkdir(parents=True, exist_ok=True)
        for index, frame in enumerate(frames):
            (folder / f"{index:05d}.jpg").write_bytes(frame)
        return f"file://{folder.resolve()}"

    def build_live_deployment(
        self, people: Sequence[WatchlistPerson], frames: Sequence[bytes], fps: float
    ) -> None:
        self.draft_form1(people)
        self.submit()
        self.authorise()
        self.say("authorised in writing by the authorising officer")
        self.connect_camera(frames, fps)
        self.start()
        self.say(f"deployment live; camera {self.camera_id} streams {len(frames)} frames at {fps:g} fps")

    def draft_form1(self, people: Sequence[WatchlistPerson]) -> None:
        """A complete Form 1 (community impact assessed, its own watchlist built and named), not submitted."""
        now = datetime.now(UTC)
        window = {
            "start": (now - timedelta(minutes=1)).isoformat(),
            "end": (now + timedelta(hours=2)).isoformat(),
        }
        form = {
            "purpose": {
                "aim": "prevention_of_disorder_or_crime",
                "description": "Locate people wanted on warrant at the station approach (demo)",
            },
            "location": {"name": "Central station approach", "zones": ["concourse"]},
            "window": window,
            "cameras": [self.camera_id],
            "threshold": {"value": 0.6},
            "composition": {"under_18": False, "under_13": False, "disability": False},
            "operators": [USERS["operator"]],
        }
        self.call(
            "draft deployment (Form 1)",
            "silver_commander",
            "POST",
            "/api/v1/deployments",
            json={"deployment_id": self.deployment_id, "form": form},
        )
        self.say(f"drafted deployment {self.deployment_id}")
        self.call(
            "record community impact assessment",
            "silver_commander",
            "POST",
            f"/api/v1/deployments/{self.deployment_id}/community-impact",
            json={
                "scores": {"experienced": 5, "evidenced": 5, "potential": 5},
                "assessed_at": now.isoformat(),
                "stakeholders_consulted": ["Independent advisory group"],
            },
        )
        created = self.call(
            "create watchlist",
            "watchlist_manager",
            "POST",
            "/api/v1/watchlists",
            json={"deployment_id": self.deployment_id, "name": "Demo watchlist"},
        )
        self.watchlist_id = str(created.get("watchlist_id") or created.get("id"))
        for person in people:
            details = {
                "entry_id": person.entry_id,
                "category": "wanted_on_warrant",
                "reason": f"Demo: {person.label}",
                "image_source": "custody",
                "approved_by": "demo-inspector",
                "age_band": "18_plus",
                "image_taken_on": [person.taken_on.isoformat()],
            }
            self.call(
                f"add watchlist entry {person.entry_id}",
                "watchlist_manager",
                "POST",
                f"/api/v1/watchlists/{self.watchlist_id}/entries",
                data={"details": _json(details)},
                files={"images": (f"{person.entry_id}.jpg", person.image, "image/jpeg")},
            )
        self.watchlist_size += len(people)
        self.say(f"watchlist {self.watchlist_id}: {len(people)} entr{'y' if len(people) == 1 else 'ies'}")
        self.call(
            "put the watchlist on Form 1",
            "silver_commander",
            "PATCH",
            f"/api/v1/deployments/{self.deployment_id}",
            json={"watchlist_id": self.watchlist_id, "reason": "watchlist built"},
        )

    def submit(self) -> None:
        self.call(
            "submit for authorisation",
            "silver_commander",
            "POST",
            f"/api/v1/deployments/{self.deployment_id}/submit",
            json={},
        )

    def expected_false_alert_rate(self) -> dict[str, Any]:
        """What the authorising officer reads before deciding, once it counts every entry added (the
        deployments service learns of the watchlist over Kafka)."""
        path = f"/api/v1/deployments/{self.deployment_id}/expected-false-alert-rate"
        deadline = time.monotonic() + self.timeout
        while True:
            seen: dict[str, Any] = self.call_when_known(
                "watchlist_not_found",
                "read the expected false alert rate",
                "authorising_officer",
                "GET",
                path,
            )
            if seen["watchlist_size"] >= self.watchlist_size or time.monotonic() >= deadline:
                return seen
            time.sleep(0.2)  # as above

    def authorise(self) -> None:
        self.expected_false_alert_rate()
        self.call(
            "authorise (authorising officer)",
            "authorising_officer",
            "POST",
            f"/api/v1/deployments/{self.deployment_id}/authorise",
            json={"notes": "necessary and proportionate for the demo"},
        )

    def connect_camera(self, frames: Sequence[bytes], fps: float) -> None:
        """Register the Form 1 camera on an image-sequence folder and attach it to the deployment."""
        source_url = self.media_folder(frames)
        self.call(
            "register camera",
            "admin",
            "POST",
            "/api/v1/cameras",
            json={"id": self.camera_id, "name": "Concourse camera 1", "source_url": source_url, "fps": fps},
        )
        self.call_when_known(
            "deployment_unknown",
            "attach camera",
            "silver_commander",
            "POST",
            f"/api/v1/cameras/{self.camera_id}/attach",
            json={"deployment_id": self.deployment_id},
        )

    def start(self) -> None:
        self.call(
            "start deployment",
            "silver_commander",
            "POST",
            f"/api/v1/deployments/{self.deployment_id}/start",
            json={},
        )

    # Alerts and decisions ----------------------------------------------------------------------------

    def wait_for_alert(self, timeout: float) -> dict[str, Any]:
        return self.wait_for_alerts(1, timeout)[0]

    def wait_for_alerts(self, count: int, timeout: float) -> list[dict[str, Any]]:
        """The deployment's `count` oldest open alerts, oldest first, once it has that many."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            listing = self.call(
                "wait for an alert",
                "operator",
                "GET",
                "/api/v1/alerts",
                params={"deployment_id": self.deployment_id, "status": "open"},
            )
            if len(listing["alerts"]) >= count:
                return [dict(alert) for alert in reversed(listing["alerts"])][:count]
            time.sleep(0.5)  # polling a REST list: there is nothing to await from here
        raise StepFailed(
            "wait for an alert",
            f"not {count} alert(s) for {self.deployment_id} within {timeout:.0f} s "
            "(is inference processing? see GET /api/v1/inference/status)",
        )

    def adjudicate(
        self, alert_id: str, outcome: str = "confirmed_match", action: str = "words_of_advice"
    ) -> None:
        base = f"/api/v1/alerts/{alert_id}"
        self.call("operator reviews the alert", "operator", "POST", f"{base}/review")
        self.call(
            "operator engages",
            "operator",
            "POST",
            f"{base}/engage",
            json={"note": "engagement officer dispatched to the concourse"},
        )
        self.call(
            "engagement officer records the outcome",
            "engagement_officer",
            "POST",
            f"{base}/outcome",
            json={"outcome": outcome, "action": action},
        )

    def end_deployment(self) -> None:
        self.call(
            "end deployment",
            "silver_commander",
            "POST",
            f"/api/v1/deployments/{self.deployment_id}/end",
            json={"note": "demo finished"},
        )

    def figures(self) -> dict[str, Any]:
        counts = self.call(
            "read alert figures",
            "silver_commander",
            "GET",
            "/api/v1/alerts/counts",
            params={"deployment_id": self.deployment_id},
        )["deployments"][self.deployment_id]
        status = self.call("read faces processed", "silver_commander", "GET", "/api/v1/inference/status")
        row: dict[str, Any] = next(
            (r for r in status.get("deployments", []) if r.get("deployment_id") == self.deployment_id), {}
        )
        faces = int(row.get("faces_processed", 0))
        false_alerts = counts["not_the_person"] + counts["dismissed"]
        return {
            "deployment_id": self.deployment_id,
            "faces_processed": faces,
            "alerts": counts["alerts"],
            "true_alerts": counts["confirmed_match"],
            "false_alerts": false_alerts,
            "not_located": counts["not_located"],
            "not_reviewed": counts["not_reviewed"],
            "suppressed": counts["suppressed"],
            "false_alert_rate": (false_alerts / faces) if faces else None,
        }


def blank_frame(width: int = 640, height: int = 480) -> bytes:
    """A frame with no one in it (the gap that ends a track between appearances)."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 124, 128)).save(buffer, format="JPEG", quality=80)
    return buffer.getvalue()


def _json(value: Any) -> str:
    import json

    return json.dumps(value)
