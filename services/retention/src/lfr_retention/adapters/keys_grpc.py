"""The retention service's KeyShredder port over the platform's DataKeys client (`lfr_platform.data_keys`).

Retention shreds as the system actor; the deployments service records that actor on the deployment's
stream, so the port the app layer sees carries only what to shred and why.
"""

from __future__ import annotations

from lfr_platform.crypto import DataClass
from lfr_platform.data_keys import GrpcDataKeys
from lfr_platform.settings import ServiceSettings

from lfr_retention.app.enforcement import SYSTEM_ACTOR, SYSTEM_ROLE

# A shred runs rarely and stays due when it fails: give a briefly slow deployments service longer.
DESTROY_DEADLINE_SECONDS = 10.0


class GrpcKeyShredder:
    def __init__(self, keys: GrpcDataKeys) -> None:
        self._keys = keys

    @classmethod
    def connect(cls, target: str, settings: ServiceSettings) -> GrpcKeyShredder:
        return cls(GrpcDataKeys.connect(target, settings, deadline_seconds=DESTROY_DEADLINE_SECONDS))

    async def destroy(self, deployment_id: str, data_class: DataClass | str, *, reason: str) -> bool:
        return await self._keys.destroy(
            deployment_id, data_class, actor=SYSTEM_ACTOR, role=SYSTEM_ROLE, reason=reason
        )

    async def close(self) -> None:
        await self._keys.close()
