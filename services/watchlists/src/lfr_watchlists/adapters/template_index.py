"""An in-process template index (cosine similarity with numpy), rebuilt from the vault at start-up.

Templates stay in memory only; the durable copy is the encrypted template blob. Each watchlist's
unit templates sit in a matrix that grows by doubling, so enrolling n entries copies O(n) rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from lfr_watchlists.domain.watchlist import NearestEntry


def _unit(template: Sequence[float]) -> npt.NDArray[np.float32]:
    vector = np.asarray(template, dtype=np.float32)
    norm = float(np.linalg.norm(vector))
    if norm == 0.0:
        raise ValueError("a zero template has no direction")
    return vector / norm


class _Matrix:
    def __init__(self, dimensions: int) -> None:
        self.rows = np.empty((16, dimensions), np.float32)
        self.owners: list[str] = []

    @property
    def used(self) -> npt.NDArray[np.float32]:
        return self.rows[: len(self.owners)]

    def append(self, owner: str, unit: npt.NDArray[np.float32]) -> None:
        if len(self.owners) == len(self.rows):
            grown = np.empty((2 * len(self.rows), self.rows.shape[1]), np.float32)
            grown[: len(self.owners)] = self.rows
            self.rows = grown
        self.rows[len(self.owners)] = unit
        self.owners.append(owner)


class InMemoryTemplateIndex:
    def __init__(self) -> None:
        self._lists: dict[str, _Matrix] = {}

    async def nearest(self, watchlist_id: str, template: Sequence[float]) -> NearestEntry | None:
        matrix = self._lists.get(watchlist_id)
        if matrix is None or not matrix.owners:
            return None
        similarities = matrix.used @ _unit(template)
        best = int(np.argmax(similarities))
        return NearestEntry(entry_id=matrix.owners[best], similarity=float(similarities[best]))

    async def add(self, watchlist_id: str, entry_id: str, templates: Sequence[Sequence[float]]) -> None:
        for template in templates:
            unit = _unit(template)
            self._lists.setdefault(watchlist_id, _Matrix(len(unit))).append(entry_id, unit)

    async def remove(self, watchlist_id: str, entry_id: str) -> None:
        matrix = self._lists.get(watchlist_id)
        if matrix is None:
            return
        keep = [i for i, owner in enumerate(matrix.owners) if owner != entry_id]
        rebuilt = _Matrix(matrix.rows.shape[1])
        for i in keep:
            rebuilt.append(matrix.owners[i], matrix.rows[i])
        self._lists[watchlist_id] = rebuilt

    async def drop(self, watchlist_id: str) -> None:
        self._lists.pop(watchlist_id, None)
