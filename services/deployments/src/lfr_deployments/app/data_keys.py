"""Per-deployment data keys: created lazily per (deployment, data class) on first request, destroyed
(crypto-shredded) on request with a `DataKeyDestroyed` event on the deployment's stream for the audit trail.

Keys exist only for deployments this service knows; unknown deployments get NotFound, so no caller can
mint keys for an id nobody authorised.

A master-key rotation re-wraps every data key under the current master key and records
`MasterKeyRotated` (key ids and counts) on the `keyring:master` stream, so oversight sees it in the ledger.
"""

from __future__ import annotations

from dataclasses import dataclass

from lfr_platform.crypto import DataClass, KeyRing
from lfr_platform.errors import InvalidInput, NotFound
from lfr_platform.eventstore import EventStore
from lfr_platform.key_rotation import DEFAULT_BATCH_SIZE, RewrapReport, rewrap_data_keys

from lfr_deployments.app import commands as c
from lfr_deployments.app.handlers import KEY_HANDLERS, DeploymentServices
from lfr_deployments.app.messagebus import MessageBus
from lfr_deployments.domain.deployment import Deployment
from lfr_deployments.domain.master_key import KeyRewrapFailed


def key_id(deployment_id: str, data_class: DataClass) -> str:
    # The same id ingest and inference stamp on frames (`<deployment>/<class>`).
    return f"{deployment_id}/{data_class.value}"


def parse_data_class(value: str) -> DataClass:
    try:
        return DataClass(value)
    except ValueError:
        raise InvalidInput(f"unknown data class {value!r}; one of {', '.join(d.value for d in DataClass)}",
                           code="unknown_data_class") from None


@dataclass
class DataKeys:
    ring: KeyRing
    services: DeploymentServices

    def __post_init__(self) -> None:
        self.bus = MessageBus(self.services, KEY_HANDLERS)
        self.reader: EventStore = self.services.db.reader()

    async def _require_deployment(self, deployment_id: str) -> None:
        stream = await self.reader.read_stream(deployment_id) if deployment_id else []
        if not stream or stream[0].stream_type != Deployment.stream_type:
            raise NotFound(f"deployment {deployment_id!r} does not exist", code="deployment_not_found")

    async def get(self, deployment_id: str, data_class: str) -> tuple[str, bytes]:
        """(key id, key). Raises NotFound, InvalidInput, or KeyDestroyed once shredded."""
        kind = parse_data_class(data_class)
        await self._require_deployment(deployment_id)
        await self.ring.ensure_key(deployment_id, kind)  # raises KeyDestroyed rather than resurrect
        return key_id(deployment_id, kind), await self.ring.data_key(deployment_id, kind)

    async def destroy(
        self, deployment_id: str, data_class: str, *, actor: str, role: str, reason: str,
        correlation_id: str | None = None,
    ) -> tuple[bool, str]:
        """(destroyed now, key id). Idempotent: a retry after a crash between the shredding and the
        event still records the event (the aggregate records it once per data class)."""
        kind = parse_data_class(data_class)
        await self._require_deployment(deployment_id)
        destroyed = await self.ring.destroy(deployment_id, kind)
        kid = key_id(deployment_id, kind)
        await self.bus.handle(c.RecordDataKeyDestroyed(
            actor=actor, role=role, correlation_id=correlation_id, deployment_id=deployment_id,
            data_class=kind.value, key_id=kid, reason=reason))
        return destroyed, kid

    async def rotate_master_key(
        self, *, actor: str, role: str, reason: str = "", batch_size: int = DEFAULT_BATCH_SIZE,
        correlation_id: str | None = None,
    ) -> RewrapReport:
        """Re-wrap every live data key under the current master key, then record the run (even one
        that failed for some keys: oversight sees every attempt). Safe to run again at any time."""
        report = await rewrap_data_keys(self.ring, batch_size=batch_size)
        failures = tuple(KeyRewrapFailed(deployment_id=f.deployment_id, data_class=f.data_class,
                                         reason=f.reason) for f in report.failures)
        await self.bus.handle(c.RecordMasterKeyRotation(
            actor=actor, role=role, correlation_id=correlation_id, current_key_id=report.current_key_id,
            previous_key_ids=report.previous_key_ids, rewrapped=report.rewrapped,
            already_current=report.already_current, destroyed_skipped=report.destroyed_skipped,
            failures=failures, reason=reason))
        return report
