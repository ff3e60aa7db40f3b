"""Commands on holds: place (authorised roles, reason, proceedings reference, expiry) and release."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from lfr_platform.auth import Principal
from lfr_platform.clock import Clock
from lfr_platform.errors import DomainRuleViolation, NotFound
from lfr_platform.eventstore.ports import EventDatabase
from lfr_platform.eventstore.repository import EventSourcedRepository

from lfr_retention.adapters.facts_sql import SqlRetentionFacts
from lfr_retention.domain.decisions import crop_receipt_id
from lfr_retention.domain.events import RETENTION_EVENTS
from lfr_retention.domain.hold import Hold
from lfr_retention.domain.policy import RetentionPolicy

_holds = EventSourcedRepository(Hold, RETENTION_EVENTS)


@dataclass(frozen=True)
class PlaceHold:
    alert_id: str
    reason: str
    proceedings_reference: str
    expires_at: datetime


@dataclass(frozen=True)
class ReleaseHold:
    hold_id: str
    reason: str


class HoldCommands:
    def __init__(
        self, db: EventDatabase, facts: SqlRetentionFacts, policy: RetentionPolicy, clock: Clock
    ) -> None:
        self._db = db
        self._facts = facts
        self._policy = policy
        self._clock = clock

    async def place(
        self, cmd: PlaceHold, principal: Principal, correlation_id: str | None = None
    ) -> dict[str, object]:
        crop = await self._facts.crop_of_alert(cmd.alert_id)
        if crop is None:
            raise NotFound(f"retention knows no alert {cmd.alert_id!r}", code="alert_not_found")
        if crop_receipt_id(crop["blob_key"]) in (await self._facts.load()).done:
            raise DomainRuleViolation(
                "this alert's data was already deleted under the retention policy", code="already_deleted"
            )
        now = self._clock.now()
        hold = Hold.place(
            uuid.uuid4().hex, cmd.alert_id, cmd.reason, cmd.proceedings_reference, cmd.expires_at,
            self._policy.alert_media, actor=principal.subject, role=principal.role.value, at=now,
        )  # fmt: skip
        return await self._save(hold, correlation_id)

    async def release(
        self, cmd: ReleaseHold, principal: Principal, correlation_id: str | None = None
    ) -> dict[str, object]:
        async with self._db.unit_of_work() as uow:
            hold = await _holds.get(uow.events, cmd.hold_id)
        hold.release(cmd.reason, actor=principal.subject, role=principal.role.value, at=self._clock.now())
        return await self._save(hold, correlation_id)

    async def _save(self, hold: Hold, correlation_id: str | None) -> dict[str, object]:
        assert hold.expires_at is not None
        async with self._db.unit_of_work() as uow:
            await _holds.save(uow.events, hold, correlation_id=correlation_id)
            await self._facts.save_hold(uow.connection, hold.view(), hold.expires_at)
            await uow.commit()
        return hold.view()
