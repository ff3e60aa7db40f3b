"""The master key's history: each rotation (re-wrap of every data key) is an event oversight can see.

One stream, `keyring:master` (a colon cannot appear in a deployment id, so it never passes for one), of
stream type `master_key`. Events carry key ids and counts only, never key material.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from lfr_platform.aggregate import Aggregate, DomainEvent, EventRegistry

STREAM_ID = "keyring:master"
MAX_LISTED_FAILURES = 50  # the count is always complete; the event lists the first ones by name


@dataclass(frozen=True, kw_only=True)
class KeyRewrapFailed:
    deployment_id: str
    data_class: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class MasterKeyRotated(DomainEvent):
    """A re-wrap run: live data keys moved under `current_key_id` from the `previous_key_ids`."""

    current_key_id: str
    previous_key_ids: tuple[str, ...]
    rewrapped: int
    already_current: int
    destroyed_skipped: int
    failed: int
    failures: tuple[KeyRewrapFailed, ...] = ()
    reason: str = ""


MASTER_KEY_EVENTS = EventRegistry(MasterKeyRotated)


class MasterKeyHistory(Aggregate):
    stream_type = "master_key"

    def _init_state(self) -> None:
        self.current_key_id: str | None = None
        self.rotations = 0

    def record_rotation(
        self,
        *,
        current_key_id: str,
        previous_key_ids: tuple[str, ...],
        rewrapped: int,
        already_current: int,
        destroyed_skipped: int,
        failures: tuple[KeyRewrapFailed, ...],
        reason: str,
        actor: str,
        role: str,
        at: datetime,
    ) -> None:
        self._trigger(
            MasterKeyRotated, actor=actor, role=role, at=at, current_key_id=current_key_id,
            previous_key_ids=previous_key_ids, rewrapped=rewrapped, already_current=already_current,
            destroyed_skipped=destroyed_skipped, failed=len(failures),
            failures=failures[:MAX_LISTED_FAILURES], reason=reason,
        )  # fmt: skip

    def _apply(self, event: DomainEvent) -> None:
        if isinstance(event, MasterKeyRotated):
            self.current_key_id = event.current_key_id
            self.rotations += 1
