"""A repository that keeps committed aggregates in memory and catches up from the store.

Rehydrating a 15,000-entry watchlist for every command makes building it quadratic. Instead the last
committed instance is kept and only newer events (written by this or another process) are applied.
An instance is taken out of the cache while a command works on it and put back only after commit, so
a refused or conflicting command never leaves a half-changed aggregate behind, and two concurrent
commands never share one.
"""

from __future__ import annotations

from typing import Generic, TypeVar

from lfr_platform.aggregate import Aggregate
from lfr_platform.eventstore import EventSourcedRepository, EventStore, StoredEvent

A = TypeVar("A", bound=Aggregate)


class CatchUpRepository(Generic[A]):
    def __init__(self, inner: EventSourcedRepository[A], *, max_cached: int = 64) -> None:
        self._inner = inner
        self._cache: dict[str, A] = {}
        self._max_cached = max_cached

    async def get(self, store: EventStore, stream_id: str) -> A:
        cached = self._cache.pop(stream_id, None)
        if cached is None:
            return await self._inner.get(store, stream_id)
        for stored in await store.read_stream(stream_id, after_version=cached.version):
            # Same transition rehydrate() applies; the cached instance holds only committed events.
            cached._mutate(self._inner.rebuild(stored))
        return cached

    async def save(self, store: EventStore, aggregate: A, *, correlation_id: str | None = None
                   ) -> list[StoredEvent]:
        return await self._inner.save(store, aggregate, correlation_id=correlation_id)

    def forget(self, stream_id: str) -> None:
        """Drop a cached instance (its stream is being changed outside this repository)."""
        self._cache.pop(stream_id, None)

    def committed(self, aggregate: A) -> None:
        """Call after the unit of work committed: the instance now matches the store."""
        if len(self._cache) >= self._max_cached:
            self._cache.pop(next(iter(self._cache)))
        self._cache[aggregate.id] = aggregate
