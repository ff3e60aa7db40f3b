"""What the inference use cases need from outside (adapters implement these; unit tests use fakes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from lfr_platform.data_keys import DataKey
from lfr_platform.data_keys import DataKeySource as DataKeys  # raises lfr_platform.crypto.DataKeyError

from lfr_inference.arrays import Float32Array

__all__ = ["DataKey", "DataKeys", "GallerySnapshot", "GallerySource", "GalleryTemplate"]


@dataclass(frozen=True)
class GalleryTemplate:
    entry_id: str
    template: Float32Array  # (128,); biometric: lives only in memory
    category: str = ""


@dataclass(frozen=True)
class GallerySnapshot:
    watchlist_id: str
    version: int
    frozen: bool
    model_version: str
    templates: list[GalleryTemplate]


class GallerySource(Protocol):
    async def fetch(self, deployment_id: str) -> GallerySnapshot: ...
