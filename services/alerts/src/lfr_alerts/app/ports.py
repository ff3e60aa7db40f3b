"""What the alerts service needs from outside (adapters implement these)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class DataKeys(Protocol):
    """The deployments service's per-deployment data keys (gRPC `lfr.keys.v1.DataKeys`)."""

    async def data_key(self, deployment_id: str, data_class: str) -> bytes:
        """The raw AES key. Raises KeyDestroyed (crypto-shredded), KeyNotFound, or KeysUnavailable (503)."""
        ...


@dataclass(frozen=True)
class Image:
    content: bytes
    media_type: str


class WatchlistImages(Protocol):
    """The watchlists service's image of a watchlist entry (the reference the operator compares with)."""

    async def entry_image(self, deployment_id: str, watchlist_id: str, entry_id: str) -> Image:
        """Raises NotFound, KeyDestroyed, or ServiceUnavailable (503) when the watchlists side cannot say."""
        ...
