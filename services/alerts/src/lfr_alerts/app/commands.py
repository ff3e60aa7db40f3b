"""Commands: what a person asks of an alert (imperative). Each carries who asks, in which role."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, kw_only=True)
class Command:
    alert_id: str
    actor: str
    role: str
    correlation_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class StartReview(Command):
    pass


@dataclass(frozen=True, kw_only=True)
class DismissAlert(Command):
    reason: str
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class EngageAlert(Command):
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class RecordOutcome(Command):
    outcome: str
    action: str = "none"
    action_detail: str = ""
    note: str = ""
