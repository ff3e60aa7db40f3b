"""What the deployment handlers need from outside the service (adapters implement these)."""

from __future__ import annotations

from datetime import date
from typing import Protocol

from lfr_deployments.domain.watchlist_summary import WatchlistSummary


class CalibrationTable(Protocol):
    """The recognition model's calibration: expected false alerts per 1,000 faces processed."""

    @property
    def model_version(self) -> str: ...

    def expected_false_alerts_per_1000(self, threshold: float, watchlist_size: int) -> float: ...


class WatchlistSummaries(Protocol):
    """The watchlists service's summary query (in-process in embedded mode, gRPC otherwise)."""

    async def summary(self, watchlist_id: str, on: date) -> WatchlistSummary:
        """Composition computed at `on` (ages), size and content version. Raises NotFound."""
        ...


class DataKeyRing(Protocol):
    """Per-deployment, per-data-class keys (frames, alert_media, watchlist_media), envelope-encrypted
    under the master key. Implemented over lfr_platform.crypto once it lands (phase 2)."""

    async def ensure_keys(self, deployment_id: str) -> None: ...

    async def destroy_key(self, deployment_id: str, data_class: str) -> None: ...
