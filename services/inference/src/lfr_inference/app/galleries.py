"""Live galleries: one per processing deployment, built from the watchlists service's Gallery gRPC when
the deployment starts or resumes, and zeroed and released when it halts or ends. Templates exist only
here, in memory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from lfr_inference.app.ports import GallerySource
from lfr_inference.vision.matcher import Candidate, Gallery

log = logging.getLogger(__name__)

# (entry id, index among that entry's templates): an entry may have several templates.
TemplateKey = tuple[str, int]


@dataclass
class LiveGallery:
    watchlist_id: str
    version: int
    model_version: str
    gallery: Gallery[TemplateKey]
    entry_of: dict[TemplateKey, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.gallery)

    def entries_of(
        self, candidates: list[Candidate[TemplateKey]]
    ) -> list[tuple[str, Candidate[TemplateKey]]]:
        """Best candidate per watchlist entry (an entry may have several templates), best first."""
        best: dict[str, Candidate[TemplateKey]] = {}
        for candidate in candidates:
            entry = self.entry_of[candidate.template_id]
            if entry not in best or candidate.score > best[entry].score:
                best[entry] = candidate
        return sorted(best.items(), key=lambda item: -item[1].score)

    def wipe(self) -> None:
        self.gallery.clear()  # zeroes the live rows; spare capacity is zero already
        self.entry_of.clear()


class GalleryRegistry:
    def __init__(self, source: GallerySource, model_version: str, normalise: bool = False) -> None:
        self._source = source
        self._model_version = model_version
        self._normalise = normalise
        self._galleries: dict[str, LiveGallery] = {}
        self._loading: dict[str, asyncio.Task[None]] = {}
        self.failures: dict[str, str] = {}

    def get(self, deployment_id: str) -> LiveGallery | None:
        return self._galleries.get(deployment_id)

    def size(self, deployment_id: str) -> int | None:
        live = self._galleries.get(deployment_id)
        return None if live is None else len(live)

    async def load(self, deployment_id: str) -> LiveGallery:
        snapshot = await self._source.fetch(deployment_id)
        if snapshot.model_version and snapshot.model_version != self._model_version:
            raise ValueError(
                f"gallery of {deployment_id} was enrolled with {snapshot.model_version}, "
                f"this service embeds with {self._model_version}"
            )
        gallery = Gallery[TemplateKey](
            initial_capacity=max(1, len(snapshot.templates)), normalise=self._normalise
        )
        live = LiveGallery(snapshot.watchlist_id, snapshot.version, snapshot.model_version, gallery)
        counts: dict[str, int] = {}
        ids: list[TemplateKey] = []
        for template in snapshot.templates:
            index = counts.get(template.entry_id, 0)
            counts[template.entry_id] = index + 1
            ids.append((template.entry_id, index))
            live.entry_of[(template.entry_id, index)] = template.entry_id
        if ids:
            matrix = np.stack([t.template for t in snapshot.templates])
            gallery.add_matrix(ids, matrix)
            matrix.fill(0.0)
        for template in snapshot.templates:
            template.template.fill(0.0)  # the transport copies are not kept
        gallery.prepare()  # build the search index now, not on the first frame
        previous = self._galleries.pop(deployment_id, None)
        if previous is not None:
            previous.wipe()
        self._galleries[deployment_id] = live
        self.failures.pop(deployment_id, None)
        log.info("gallery loaded", extra={"deployment_id": deployment_id, "templates": len(gallery)})
        return live

    def schedule_load(self, deployment_id: str, still_wanted: Callable[[], bool]) -> None:
        """Load in the background (the consumer must not wait on a peer), retrying until it works or
        the deployment is no longer processing."""
        running = self._loading.get(deployment_id)
        if running is not None and not running.done():
            return

        async def attempt() -> None:
            delay = 0.2
            while still_wanted():
                try:
                    await self.load(deployment_id)
                    if not still_wanted():  # halted while loading
                        self.drop(deployment_id)
                    return
                except Exception as error:
                    self.failures[deployment_id] = type(error).__name__
                    log.warning("gallery load failed for %s: %s", deployment_id, type(error).__name__)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)

        self._loading[deployment_id] = asyncio.create_task(attempt(), name=f"gallery-{deployment_id}")

    async def wait_loaded(self, deployment_id: str) -> None:
        task = self._loading.get(deployment_id)
        if task is not None:
            await task

    def drop(self, deployment_id: str) -> bool:
        task = self._loading.pop(deployment_id, None)
        if task is not None and not task.done() and task is not asyncio.current_task():
            task.cancel()
        live = self._galleries.pop(deployment_id, None)
        if live is None:
            return False
        live.wipe()
        log.info("gallery dropped", extra={"deployment_id": deployment_id})
        return True

    def drop_all(self) -> None:
        for deployment_id in list(self._galleries):
            self.drop(deployment_id)
        for task in self._loading.values():
            task.cancel()
        self._loading.clear()
