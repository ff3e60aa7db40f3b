"""Master-key rotation: re-wrap every live data key under the current master key.

    ring = KeyRing(new_master, store, previous_master_keys=[old_master])
    report = await rewrap_data_keys(ring)        # RewrapReport: counts, key ids, failures with reasons

Only the small wrapped keys change; the data they seal (blobs, frames) is untouched. Each key is re-wrapped
in its own short transaction with a compare-and-set on its old wrapped value, so a run may stop at any
point and be started again: keys already under the current master count as `already_current`, a key
destroyed (or re-wrapped by someone else) meanwhile is never overwritten, and tombstones are only
counted. A key that no configured master key opens is reported as failed and left exactly as it was.
Key material never appears in the report.

Embedded mode (no LFR_MASTER_KEY: the key lives in `<data_dir>/master.key`) rotates the file too:
`begin_dev_rotation` retires the key to `master.key.previous` and writes a new one, the re-wrap runs,
and `finish_dev_rotation` deletes the retired key once nothing is left under it.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lfr_platform.crypto import DecryptionFailed, KeyRing, MasterKeys, WrappedKey, master_key_id, wrap_context
from lfr_platform.files import replace_file
from lfr_platform.settings import (
    DEV_MASTER_KEY_FILE,
    DEV_PREVIOUS_MASTER_KEYS_FILE,
    MASTER_KEY_BYTES,
    decode_master_key,
    decode_master_keys,
)

DEFAULT_BATCH_SIZE = 100
_MAX_ATTEMPTS = 3  # a row changed under us is re-read; a row that keeps changing is reported, not spun on


@dataclass(frozen=True, slots=True)
class RewrapFailure:
    deployment_id: str
    data_class: str
    reason: str


@dataclass
class RewrapReport:
    current_key_id: str
    previous_key_ids: tuple[str, ...]
    rewrapped: int = 0
    already_current: int = 0
    destroyed_skipped: int = 0
    failures: list[RewrapFailure] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failures)

    @property
    def ok(self) -> bool:
        return not self.failures

    def as_dict(self) -> dict[str, Any]:
        """The stable JSON shape printed by `rotate-master-key` and `lfr keys rotate --json`."""
        return {
            "ok": self.ok,
            "current_key_id": self.current_key_id,
            "previous_key_ids": list(self.previous_key_ids),
            "rewrapped": self.rewrapped,
            "already_current": self.already_current,
            "destroyed_skipped": self.destroyed_skipped,
            "failed": self.failed,
            "failures": [
                {"deployment_id": f.deployment_id, "data_class": f.data_class, "reason": f.reason}
                for f in self.failures
            ],
        }


async def rewrap_data_keys(ring: KeyRing, *, batch_size: int = DEFAULT_BATCH_SIZE) -> RewrapReport:
    """Re-wrap every live data key in `ring.store` under `ring`'s current master key."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    masters = ring.masters
    report = RewrapReport(masters.current_id, masters.previous_ids)
    after = None
    while batch := await ring.store.scan(after, batch_size):
        for record in batch:
            await _rewrap_one(ring, record, report)
        after = batch[-1].slot
    return report


async def _rewrap_one(ring: KeyRing, record: WrappedKey, report: RewrapReport) -> None:
    masters, store = ring.masters, ring.store
    for _ in range(_MAX_ATTEMPTS):
        if record.wrapped is None:
            report.destroyed_skipped += 1
            return
        context = wrap_context(record.deployment_id, record.data_class)
        try:
            data_key, opened_by = masters.unwrap(record.wrapped, context, record.master_key_id)
        except DecryptionFailed as error:
            report.failures.append(_failure(record, error.message))
            return
        if opened_by == masters.current_id:
            if record.master_key_id == masters.current_id:
                report.already_current += 1
                return
            # Wrapped before ids were recorded, by what is still the current key: record the id only.
            wrapped = record.wrapped
        else:
            wrapped = masters.wrap(data_key, context)
            if not _opens_to(masters, wrapped, context, data_key):  # never store what cannot be opened
                report.failures.append(_failure(record, "re-wrapped key did not verify; left as it was"))
                return
        swapped = await store.replace_wrapped(
            record.deployment_id, record.data_class, record.wrapped, wrapped, masters.current_id
        )
        if swapped:
            if wrapped is record.wrapped:
                report.already_current += 1
            else:
                report.rewrapped += 1
            return
        fresh = await store.get(record.deployment_id, record.data_class)  # changed meanwhile: look again
        if fresh is None:
            report.failures.append(_failure(record, "the key disappeared during the rotation"))
            return
        record = fresh
    report.failures.append(_failure(record, "the key kept changing during the rotation; run again"))


def _opens_to(masters: MasterKeys, wrapped: bytes, context: bytes, data_key: bytes) -> bool:
    try:
        return masters.unwrap(wrapped, context, masters.current_id)[0] == data_key
    except DecryptionFailed:
        return False


def _failure(record: WrappedKey, reason: str) -> RewrapFailure:
    return RewrapFailure(record.deployment_id, record.data_class.value, reason)


# ---------------------------------------------------------------------------------------------------------
# Embedded mode: the master key is a file under the data directory


def begin_dev_rotation(data_dir: Path) -> None:
    """Retire `master.key` into `master.key.previous` and write a new `master.key`.

    Crash-safe and re-runnable: the retired key is saved before the new one replaces it, and a rotation
    already begun (a previous-keys file that does not hold the current key) is continued, not restarted,
    so a second run never strands keys wrapped under the first run's new key.
    """
    current_path, previous_path = data_dir / DEV_MASTER_KEY_FILE, data_dir / DEV_PREVIOUS_MASTER_KEYS_FILE
    if not current_path.exists():
        raise FileNotFoundError(f"no development master key at {current_path}: nothing to rotate")
    current = decode_master_key(current_path.read_text().strip())
    previous = decode_master_keys(previous_path.read_text()) if previous_path.exists() else []
    ids = {master_key_id(k) for k in previous}
    if previous and master_key_id(current) not in ids:
        return  # begun earlier and the new key is in place: finish that rotation
    if master_key_id(current) not in ids:
        replace_file(previous_path, b"\n".join(base64.b64encode(k) for k in [*previous, current]) + b"\n")
    replace_file(current_path, base64.b64encode(secrets.token_bytes(MASTER_KEY_BYTES)))


def finish_dev_rotation(data_dir: Path) -> None:
    """Delete the retired keys: run only after a re-wrap that left nothing under them."""
    (data_dir / DEV_PREVIOUS_MASTER_KEYS_FILE).unlink(missing_ok=True)
