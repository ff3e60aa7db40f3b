"""What the inference use cases need from outside (adapters implement these; unit tests use fakes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np


@dataclass(frozen=True)
class DataKey:
    key_id: str
    key: bytes


class KeyUnavailable(Exception):
    """The deployment's data key cannot be had (destroyed, unknown, or the key service is down)."""


class DataKeys(Protocol):
    async def get(self, deployment_id: str, data_class: str) -> DataKey:
        """Raises KeyUnavailable."""
        ...


@dataclass(frozen=True)
class GalleryTemplate:
    entry_id: str
    template: np.ndarray  # (128,) float32; biometric: lives only in memory
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
