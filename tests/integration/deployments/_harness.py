"""The deployments service as built by its bootstrap (real SQLite or PostgreSQL event store, real JWTs,
the real calibration table, the real watchlist-summary projection), driven over REST.

`RestWorld` has the shape of the unit tests' `World` (the same `Steps`: drafted/submitted/authorised/
live/...; `run(command)`, `clock`, `watchlists.summaries[...] = summary(...)`), so the domain rule
table runs unchanged through HTTP: each command becomes its REST call with a token for its (actor, role),
and a summary assigned in a case is fed into the projection as the watchlist events that produce it,
through the same handler the Kafka consumer calls.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from lfr_deployments.adapters.watchlist_projection import on_watchlist_event
from lfr_deployments.app import commands as c
from lfr_deployments.bootstrap import DeploymentsComponents, build_components
from lfr_deployments.domain.form1 import CommunityImpactAssessment, Form1
from lfr_deployments.domain.watchlist_summary import SummaryEntry, WatchlistSummary
from lfr_deployments.settings import DeploymentsSettings
from lfr_platform.auth import EmbeddedIssuer
from lfr_platform.clock import ManualClock
from lfr_platform.eventstore import StoredEvent
from lfr_platform.messaging.wire import EventMessage
from pydantic import TypeAdapter

from tests.fixtures.events import event_message
from tests.unit.deployments.conftest import DEPLOYMENT, WATCHLIST, WINDOW_START, Steps, complete_form, summary

API = "/api/v1/deployments"
_FORM = TypeAdapter(Form1)
_ASSESSMENT = TypeAdapter(CommunityImpactAssessment)


class RestRefused(Exception):
    def __init__(self, response: httpx.Response) -> None:
        super().__init__(f"HTTP {response.status_code}: {response.text}")
        self.status = response.status_code
        body = response.json() if response.content else {}
        self.code = body.get("error", {}).get("code")
        self.details = body.get("error", {}).get("details", {})


def watchlist_message(
    event_type: str, watchlist_id: str, data: dict[str, Any], version: int = 1
) -> EventMessage:
    return event_message("watchlist", watchlist_id, event_type, data, actor="wlm-1", role="watchlist_manager",
                         version=version)  # fmt: skip


def summary_as_events(s: WatchlistSummary) -> list[EventMessage]:
    """The watchlist events whose projection is `s` (age bands stand for the under-18/13 flags)."""
    messages = [
        watchlist_message(
            "WatchlistCreated", s.watchlist_id, {"deployment_id": s.deployment_id, "name": "test list"}
        )
    ]
    for index, e in enumerate(s.entries):
        band = "under_13" if e.under_13 else "13_to_17" if e.under_18 else "18_plus"
        details = {
            "category": "wanted_on_warrant",
            "reason": "warrant",
            "image_source": "custody",
            "approved_by": "insp-x",
            "age_band": band,
            "disability": e.disability,
        }
        messages.append(
            watchlist_message(
                "WatchlistEntryAdded",
                s.watchlist_id,
                {"entry_id": e.entry_id, "details": details, "images": [], "revision": s.version},
                index + 2,
            )
        )
    if s.frozen:
        messages.append(
            watchlist_message(
                "WatchlistFrozen", s.watchlist_id, {"deployment_id": s.deployment_id, "revision": s.version}
            )
        )
    return messages


@dataclass
class PendingSummaries:
    """`summaries[id] = summary` as the rule table writes it; flushed into the projection before a call."""

    pending: dict[str, WatchlistSummary] = field(default_factory=dict)

    @property
    def summaries(self) -> dict[str, WatchlistSummary]:
        return self.pending


class SettableCalibration:
    """Not used over REST: the real calibration table answers (cases needing a rate use real sizes)."""


@dataclass
class RestWorld(Steps):
    parts: DeploymentsComponents
    client: httpx.AsyncClient
    issuer: EmbeddedIssuer
    clock: ManualClock
    watchlists: PendingSummaries = field(default_factory=PendingSummaries)
    correlation_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def auth(self, actor: str, role: str) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {self.issuer.issue_token(actor, role, 600)}",
            "X-Correlation-ID": self.correlation_id,
        }

    async def feed(self, messages: list[EventMessage]) -> None:
        async with self.parts.kit.db.unit_of_work() as uow:
            for message in messages:
                await on_watchlist_event(uow, message)
            await uow.commit()

    async def flush_summaries(self) -> None:
        pending, self.watchlists.pending = self.watchlists.pending, {}
        for s in pending.values():
            await self.feed(summary_as_events(s))

    async def send(self, command: c.Command) -> httpx.Response:
        await self.flush_summaries()
        method, path, body = request_for(command)
        return await self.client.request(
            method, path, json=body, headers=self.auth(command.actor, command.role)
        )

    async def run(self, command: c.Command) -> list[StoredEvent]:
        before = len(await self.events(getattr(command, "deployment_id", DEPLOYMENT)))
        response = await self.send(command)
        if response.status_code >= 400:
            raise RestRefused(response)
        return (await self.events(getattr(command, "deployment_id", DEPLOYMENT)))[before:]

    async def events(self, stream: str = DEPLOYMENT) -> list[StoredEvent]:
        return await self.parts.kit.db.reader().read_stream(stream)

def _json(value: Any, adapter: TypeAdapter[Any]) -> Any:
    return adapter.dump_python(value, mode="json")


def request_for(cmd: c.Command) -> tuple[str, str, dict[str, Any] | None]:
    """The REST call a person makes to send `cmd` (method, path, JSON body)."""
    d = f"{API}/{getattr(cmd, 'deployment_id', '')}"
    match cmd:
        case c.DraftDeployment():
            return "POST", API, {"deployment_id": cmd.deployment_id, "form": _json(cmd.form, _FORM)}
        case c.AmendForm1():
            form = _json(Form1(**{**complete_form().__dict__, **cmd.changes()}), _FORM)
            return "PATCH", d, {"reason": cmd.reason, **{k: form[k] for k in cmd.changes()}}
        case c.ChangeThreshold():
            threshold = {"value": cmd.threshold.value, "justification": cmd.threshold.justification}
            return "POST", f"{d}/threshold", {"threshold": threshold, "reason": cmd.reason}
        case c.ReassessCommunityImpact():
            return "POST", f"{d}/community-impact", _json(cmd.assessment, _ASSESSMENT)
        case c.SubmitDeployment():
            return "POST", f"{d}/submit", None
        case c.AuthoriseDeployment():
            return "POST", f"{d}/authorise", {"notes": cmd.notes}
        case c.RefuseAuthorisation():
            return "POST", f"{d}/refuse", {"reason": cmd.reason}
        case c.StartDeployment(reason=None):
            return "POST", f"{d}/start", None
        case c.StartDeployment():
            return "POST", f"{d}/resume", {"reason": cmd.reason}
        case c.HaltDeployment():
            return "POST", f"{d}/halt", {"reason": cmd.reason}
        case c.EndDeployment():
            return "POST", f"{d}/end", {"note": cmd.note}
        case c.RecordPostDeploymentReview():
            return (
                "POST",
                f"{d}/review",
                {
                    "false_alerts_examined": cmd.false_alerts_examined,
                    "findings": cmd.findings,
                    "report_reference": cmd.report_reference,
                },
            )
    raise TypeError(f"{type(cmd).__name__} has no REST operation")


PERMISSION_OF: dict[type, str] = {
    c.DraftDeployment: "deployments.create",
    c.AmendForm1: "deployments.update",
    c.ChangeThreshold: "deployments.change_threshold",
    c.ReassessCommunityImpact: "deployments.assess_community_impact",
    c.SubmitDeployment: "deployments.submit",
    c.AuthoriseDeployment: "deployments.authorise",
    c.RefuseAuthorisation: "deployments.reject",
    c.StartDeployment: "deployments.start",
    c.HaltDeployment: "deployments.halt",
    c.EndDeployment: "deployments.end",
    c.RecordPostDeploymentReview: "deployments.review",
}


def settings_for(data_dir: Path, **overrides: Any) -> DeploymentsSettings:
    # No waiting for a freeze by default: the rule table wants the refusal at once.
    return DeploymentsSettings(data_dir=data_dir, **{"start_freeze_wait_seconds": 0.0, **overrides})


@asynccontextmanager
async def rest_world(data_dir: Path, **overrides: Any) -> AsyncIterator[RestWorld]:
    settings = settings_for(data_dir, **overrides)
    clock = ManualClock(WINDOW_START - timedelta(hours=20))
    parts = build_components(settings, clock=clock)
    await parts.start()
    issuer = EmbeddedIssuer.load_or_create(
        settings.dev_key_path, settings.auth.issuer, settings.auth.audience
    )
    transport = httpx.ASGITransport(app=parts.app())
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://deployments") as client:
            world = RestWorld(parts, client, issuer, clock)
            world.watchlists.summaries[WATCHLIST] = summary()
            yield world
    finally:
        await parts.kit.db.dispose()


__all__ = ["SummaryEntry", "rest_world"]
