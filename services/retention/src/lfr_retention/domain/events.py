"""Retention events on `lfr.retention.events.v1` (stream types `hold`, `receipt` and `retention_run`). Ids,
reasons and times only: a receipt names what was deleted, never what it contained."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lfr_platform.aggregate import DomainEvent, EventRegistry


@dataclass(frozen=True, kw_only=True)
class HoldPlaced(DomainEvent):
    alert_id: str
    reason: str
    proceedings_reference: str
    expires_at: datetime


@dataclass(frozen=True, kw_only=True)
class HoldReleased(DomainEvent):
    alert_id: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class DeletionReceiptIssued(DomainEvent):
    receipt_id: str  # the action's stable id: one receipt per action, ever
    data_class: str
    deployment_id: str
    ids: tuple[str, ...]  # alert ids, blob keys, or the key's `<deployment>/<data-class>`
    action: str  # delete_blobs | destroy_key
    policy: str
    reason: str
    deleted_at: datetime
    blobs_deleted: int = 0
    key_destroyed: bool = False


@dataclass(frozen=True, kw_only=True)
class RetentionRunRequested(DomainEvent):
    """A person asked for what is due to be deleted now (the scheduler's own runs are not requests).

    The receipts that run issues carry this request's correlation id."""


RETENTION_EVENTS = EventRegistry(HoldPlaced, HoldReleased, DeletionReceiptIssued, RetentionRunRequested)
