"""Enforcement: carry out what `due_actions` says is due, then issue one receipt per action.

Effects come first and the receipt after, both idempotent: a crash in between re-runs the effect
(deleting a missing blob or destroying a destroyed key is a no-op) and then issues the receipt. The
receipt's stream id is derived from the action id, so two concurrent runs cannot both issue it.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from lfr_platform.aggregate import Aggregate, DomainEvent
from lfr_platform.auth import Principal
from lfr_platform.blobs import BlobStore, blob_key
from lfr_platform.clock import Clock
from lfr_platform.errors import ConcurrencyError, DuplicateEventError
from lfr_platform.eventstore.ports import EventDatabase
from lfr_platform.eventstore.repository import EventSourcedRepository
from lfr_platform.telemetry import get_logger

from lfr_retention.adapters.facts_sql import SqlRetentionFacts
from lfr_retention.app.ports import KeyShredder
from lfr_retention.domain.decisions import Action, ActionKind, due_actions
from lfr_retention.domain.events import RETENTION_EVENTS, DeletionReceiptIssued
from lfr_retention.domain.policy import RetentionPolicy
from lfr_retention.domain.run import RunRequest

log = get_logger(__name__)

SYSTEM_ACTOR = "retention"
SYSTEM_ROLE = "system"
RECEIPT_BATCH = 200  # effects, then their receipts in one transaction


class Receipt(Aggregate):
    stream_type = "receipt"

    def _apply(self, event: DomainEvent) -> None:
        pass


_receipts = EventSourcedRepository(Receipt, RETENTION_EVENTS)
_requests = EventSourcedRepository(RunRequest, RETENTION_EVENTS)


def receipt_stream_id(receipt_id: str) -> str:
    return "receipt-" + hashlib.sha256(receipt_id.encode()).hexdigest()[:40]


@dataclass
class RunReport:
    at: datetime
    due: int = 0
    issued: list[dict[str, object]] = field(default_factory=list)
    failed: list[dict[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"at": self.at.isoformat(), "due": self.due, "issued": self.issued, "failed": self.failed}


class Enforcer:
    def __init__(
        self,
        db: EventDatabase,
        facts: SqlRetentionFacts,
        blobs: BlobStore,
        keys: KeyShredder,
        policy: RetentionPolicy,
        clock: Clock,
    ) -> None:
        self._db = db
        self._facts = facts
        self._blobs = blobs
        self._keys = keys
        self._policy = policy
        self._clock = clock

    async def run_requested(self, principal: Principal, correlation_id: str | None = None) -> RunReport:
        """A person's run: the request is committed first, so it is on record even if the run fails."""
        now = self._clock.now()
        request = RunRequest.record(
            f"run-{uuid.uuid4().hex}", actor=principal.subject, role=principal.role.value, at=now
        )
        async with self._db.unit_of_work() as uow:
            await _requests.save(uow.events, request, correlation_id=correlation_id)
            await uow.commit()
        return await self.run(now, correlation_id)

    async def run(self, at: datetime | None = None, correlation_id: str | None = None) -> RunReport:
        now = at or self._clock.now()
        actions = due_actions(await self._facts.load(), self._policy, now)
        report = RunReport(at=now, due=len(actions))
        for first in range(0, len(actions), RECEIPT_BATCH):
            effected: list[tuple[Action, int, bool]] = []
            for action in actions[first : first + RECEIPT_BATCH]:
                try:
                    effected.append((action, *await self._effect(action)))
                except Exception as error:  # one failure must not stop the other deletions; it stays due
                    log.warning("retention action failed", receipt_id=action.receipt_id, error=str(error))
                    report.failed.append({"receipt_id": action.receipt_id, "error": type(error).__name__})
            report.issued.extend(await self._issue(effected, now, correlation_id))
        if report.issued:
            log.info("deletion receipts issued", count=len(report.issued), failed=len(report.failed))
        return report

    async def _effect(self, action: Action) -> tuple[int, bool]:
        """(blobs deleted, key destroyed): both zero/False when a previous attempt already did it."""
        if action.kind is ActionKind.DELETE_ALERT_CROP:
            deleted = 0
            for key in action.blob_keys:
                deleted += await self._blobs.delete(key)
            return deleted, False
        if action.kind is ActionKind.PURGE_WATCHLIST_MEDIA:
            return await self._purge_watchlist_media(action), False
        return 0, await self._keys.destroy(action.deployment_id, action.data_class, reason=action.reason)

    async def _purge_watchlist_media(self, action: Action) -> int:
        keys = {i if "/" in i else blob_key("watchlist_media", action.deployment_id, i) for i in action.ids}
        # Also what no event named (an enrolment that crashed before commit leaves unreferenced blobs).
        keys.update([k async for k in self._blobs.list(f"watchlist_media/{action.deployment_id}/")])
        deleted = 0
        for key in sorted(keys):
            deleted += await self._blobs.delete(key)
        return deleted

    def _receipt(
        self, action: Action, blobs_deleted: int, key_destroyed: bool, now: datetime
    ) -> tuple[Receipt, dict[str, object]]:
        receipt = Receipt(receipt_stream_id(action.receipt_id))
        event = receipt._trigger(
            DeletionReceiptIssued, actor=SYSTEM_ACTOR, role=SYSTEM_ROLE, at=now,
            receipt_id=action.receipt_id, data_class=action.data_class, deployment_id=action.deployment_id,
            ids=action.ids, action=action.kind.value, policy=self._policy.reference(action.data_class),
            reason=action.reason, deleted_at=now, blobs_deleted=blobs_deleted, key_destroyed=key_destroyed,
        )  # fmt: skip
        return receipt, {
            "receipt_stream_id": receipt.id,
            **event.payload(),
            "due_at": action.due_at.isoformat(),
        }

    async def _issue(
        self, effected: list[tuple[Action, int, bool]], now: datetime, correlation_id: str | None
    ) -> list[dict[str, object]]:
        """One transaction for the batch; if another run issued one of them meanwhile, one by one."""
        if not effected:
            return []
        try:
            return await self._save([self._receipt(*item, now) for item in effected], now, correlation_id)
        except (ConcurrencyError, DuplicateEventError):
            pass
        issued: list[dict[str, object]] = []
        for item in effected:
            try:
                issued.extend(await self._save([self._receipt(*item, now)], now, correlation_id))
            except (ConcurrencyError, DuplicateEventError):
                continue  # another run issued it first
        return issued

    async def _save(
        self, receipts: list[tuple[Receipt, dict[str, object]]], now: datetime, correlation_id: str | None
    ) -> list[dict[str, object]]:
        async with self._db.unit_of_work() as uow:
            for receipt, view in receipts:
                await _receipts.save(uow.events, receipt, correlation_id=correlation_id)
                await self._facts.save_receipt(uow.connection, view, now)
            await uow.commit()
        return [view for _, view in receipts]
