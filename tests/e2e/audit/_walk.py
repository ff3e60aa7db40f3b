"""The walk over the platform's OpenAPI documents: which operations change state, which event and which
permission each one has, who drove it, and whether the audit ledger names that person and role.

`AuditedScenario` is the shared end-to-end `Scenario` with one twist: every state-changing call is matched
to its documented operation and signed in as a user of its own, so a ledger entry can only be that call's.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
from lfr_alerts.scenario import Scenario
from lfr_platform.auth.policy import PERMISSIONS

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True, order=True)
class Operation:
    method: str
    path: str  # as the OpenAPI document spells it: /api/v1/deployments/{deployment_id}/halt

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def matches(self, method: str, path: str) -> bool:
        template, concrete = self.path.split("/"), path.split("?")[0].split("/")
        return (
            method.upper() == self.method
            and len(template) == len(concrete)
            and all(t == c or (t.startswith("{") and c) for t, c in zip(template, concrete, strict=True))
        )


@dataclass(frozen=True)
class Expected:
    permission: str  # the matrix (lfr_platform.auth.policy) says which roles hold it
    event_type: str  # what the owning service records for it


def _op(text: str) -> Operation:
    method, path = text.split(" ", 1)
    return Operation(method, path)


D, W, C, A, R = (
    "/api/v1/deployments",
    "/api/v1/watchlists",
    "/api/v1/cameras",
    "/api/v1/alerts",
    "/api/v1/retention",
)
EXPECTED: dict[Operation, Expected] = {_op(op): Expected(*what) for op, what in {
    f"POST {D}": ("deployments.create", "DeploymentDrafted"),
    f"PATCH {D}/{{deployment_id}}": ("deployments.update", "Form1Amended"),
    f"POST {D}/{{deployment_id}}/threshold": ("deployments.change_threshold", "ThresholdChanged"),
    f"POST {D}/{{deployment_id}}/community-impact": ("deployments.assess_community_impact",
                                                     "CommunityImpactReassessed"),
    f"POST {D}/{{deployment_id}}/submit": ("deployments.submit", "DeploymentSubmitted"),
    f"POST {D}/{{deployment_id}}/authorise": ("deployments.authorise", "DeploymentAuthorised"),
    f"POST {D}/{{deployment_id}}/refuse": ("deployments.reject", "AuthorisationRefused"),
    f"POST {D}/{{deployment_id}}/start": ("deployments.start", "DeploymentStarted"),
    f"POST {D}/{{deployment_id}}/halt": ("deployments.halt", "DeploymentHalted"),
    f"POST {D}/{{deployment_id}}/resume": ("deployments.start", "DeploymentResumed"),
    f"POST {D}/{{deployment_id}}/end": ("deployments.end", "DeploymentEnded"),
    f"POST {D}/{{deployment_id}}/review": ("deployments.review", "PostDeploymentReviewRecorded"),
    f"POST {W}": ("watchlists.create", "WatchlistCreated"),
    f"POST {W}/{{watchlist_id}}/entries": ("watchlists.add_entry", "WatchlistEntryAdded"),
    f"DELETE {W}/{{watchlist_id}}/entries/{{entry_id}}": ("watchlists.remove_entry", "WatchlistEntryRemoved"),
    f"DELETE {W}/{{watchlist_id}}": ("watchlists.delete", "WatchlistPurged"),
    f"POST {C}": ("cameras.register", "CameraRegistered"),
    f"PATCH {C}/{{camera_id}}": ("cameras.update", "CameraUpdated"),
    f"POST {C}/{{camera_id}}/attach": ("cameras.attach", "CameraAttached"),
    f"POST {C}/{{camera_id}}/detach": ("cameras.attach", "CameraDetached"),
    f"POST {C}/{{camera_id}}/decommission": ("cameras.decommission", "CameraDecommissioned"),
    f"POST {A}/{{alert_id}}/review": ("alerts.adjudicate", "AlertReviewStarted"),
    f"POST {A}/{{alert_id}}/dismiss": ("alerts.adjudicate", "AlertDismissed"),
    f"POST {A}/{{alert_id}}/engage": ("alerts.adjudicate", "AlertEngaged"),
    f"POST {A}/{{alert_id}}/outcome": ("alerts.record_engagement", "EngagementOutcomeRecorded"),
    f"POST {R}/holds": ("retention.place_hold", "HoldPlaced"),
    f"POST {R}/holds/{{hold_id}}/release": ("retention.release_hold", "HoldReleased"),
    f"POST {R}/run": ("retention.purge", "RetentionRunRequested"),
}.items()}  # fmt: skip


def documented_operations(client: httpx.Client, prefixes: Iterable[str]) -> set[Operation]:
    """Every state-changing operation in the services' OpenAPI documents, fetched through the gateway."""
    found: set[Operation] = set()
    for prefix in prefixes:
        response = client.get(f"/api/v1/{prefix}/openapi.json")
        assert response.status_code == 200, f"OpenAPI document of /{prefix}: HTTP {response.status_code}"
        for path, item in response.json()["paths"].items():
            found |= {Operation(m.upper(), path) for m in item if m.upper() in STATE_CHANGING}
    return found


@dataclass(frozen=True)
class Driven:
    operation: Operation
    step: str
    user: str
    role: str
    event_type: str

    def __str__(self) -> str:
        return (
            f"{self.operation} (step '{self.step}', {self.user} as {self.role}, expecting {self.event_type})"
        )


@dataclass
class AuditedScenario(Scenario):
    """Signs each state-changing call in as `walk-<run>-<operation>` and records it in `driven`."""

    operations: frozenset[Operation] = frozenset()
    run: str = ""
    driven: dict[Operation, Driven] = field(default_factory=dict)  # shared by the walk's scenarios

    def call(
        self, step: str, role: str, method: str, path: str, *, user: str | None = None, **kwargs: Any
    ) -> Any:
        if method.upper() not in STATE_CHANGING:
            return super().call(step, role, method, path, user=user, **kwargs)
        candidates = [op for op in self.operations if op.matches(method, path)]
        assert len(candidates) == 1, f"{method} {path} matches {candidates} in the OpenAPI documents"
        operation = candidates[0]
        expected = EXPECTED.get(operation)
        assert expected is not None, f"{operation}: add its permission and event type to EXPECTED"
        assert role in PERMISSIONS[expected.permission].roles, (
            f"{operation}: {role} lacks {expected.permission}"
        )
        slug = "-".join(p.strip("{}") for p in operation.path.split("/")[3:])
        user = f"walk-{self.run}-{operation.method.lower()}-{slug}"
        result = super().call(step, role, method, path, user=user, **kwargs)
        self.driven.setdefault(operation, Driven(operation, step, user, role, expected.event_type))
        return result


def not_in_ledger(
    client: httpx.Client, headers: dict[str, str], driven: Iterable[Driven], within: float
) -> list[str]:
    """The driven operations the audit ledger still has no attributed entry for after `within` seconds."""

    def entries(**criteria: str) -> list[dict[str, Any]]:
        response = client.get("/api/v1/audit/entries", params={**criteria, "limit": 50}, headers=headers)
        assert response.status_code == 200, response.text
        return list(response.json()["entries"])

    pending = list(driven)
    deadline = time.monotonic() + within
    while pending:
        pending = [d for d in pending if not entries(actor=d.user, role=d.role, event_type=d.event_type)]
        if not pending or time.monotonic() >= deadline:
            break
        time.sleep(0.5)  # the ledger fills from Kafka and backfill; poll its query API
    return [
        f"{d}: no attributed ledger entry; entries by {d.user}: "
        f"{[(e['entry']['event_type'], e['entry']['metadata'].get('role')) for e in entries(actor=d.user)]}"
        for d in pending
    ]  # fmt: skip
