"""`RunRequest`: a person's "delete what is due now". Deletion is a decision like any other, so asking for
it is recorded with who, in which role, and when, before anything is deleted."""

from __future__ import annotations

from datetime import datetime

from lfr_platform.aggregate import Aggregate, DomainEvent

from lfr_retention.domain.events import RetentionRunRequested


class RunRequest(Aggregate):
    stream_type = "retention_run"

    @classmethod
    def record(cls, request_id: str, *, actor: str, role: str, at: datetime) -> RunRequest:
        request = cls(request_id)
        request._trigger(RetentionRunRequested, actor=actor, role=role, at=at)
        return request

    def _apply(self, event: DomainEvent) -> None:
        pass  # nothing follows a request: it has no state to keep
