"""Reads that decrypt from the vault: a frozen deployment's gallery, one entry image, one entry's
personal details, and the duplicate-detection index rebuilt at start-up. Nothing read here is logged or
put into an event."""

from __future__ import annotations

from dataclasses import dataclass

from lfr_platform.crypto import KeyDestroyed
from lfr_platform.errors import DomainRuleViolation, NotFound
from lfr_platform.eventstore import EventStore
from lfr_platform.telemetry import get_logger

from lfr_watchlists.app.personal import PersonalView, open_personal
from lfr_watchlists.app.ports import BiometricReader, TemplateIndex
from lfr_watchlists.app.queries import WatchlistView, find_entry, get_watchlist, list_watchlists
from lfr_watchlists.domain.watchlist import Entry

log = get_logger(__name__)


@dataclass(frozen=True, kw_only=True)
class GalleryTemplate:
    entry_id: str
    category: str
    template: list[float]


@dataclass(frozen=True, kw_only=True)
class Gallery:
    watchlist_id: str
    version: int
    frozen: bool
    model_version: str
    templates: tuple[GalleryTemplate, ...]


async def frozen_gallery(reader: EventStore, vault: BiometricReader, deployment_id: str) -> Gallery:
    """The templates of the deployment's frozen watchlist: exactly what its authorising officer approved."""
    views = [v for v in await list_watchlists(reader, deployment_id) if not v.purged]
    if not views:
        raise NotFound(f"deployment {deployment_id!r} has no watchlist", code="watchlist_not_found")
    frozen = [v for v in views if v.frozen_at_revision is not None]
    if not frozen:
        raise DomainRuleViolation(f"the watchlist of deployment {deployment_id!r} is not frozen: it has not "
                                  "been authorised at its current revision", code="watchlist_not_frozen")
    view = frozen[0]
    models = {e.model_version for e in view.entries}
    if len(models) > 1:
        raise DomainRuleViolation(f"watchlist {view.watchlist_id!r} mixes templates of models "
                                  f"{sorted(models)}", code="mixed_model_versions")
    templates = [
        GalleryTemplate(entry_id=e.entry_id, category=e.details.category.value,
                        template=await vault.template(view.deployment_id, image.template_blob_id))
        for e in view.entries for image in e.images
    ]
    return Gallery(watchlist_id=view.watchlist_id, version=int(view.frozen_at_revision or 0), frozen=True,
                   model_version=models.pop() if models else "", templates=tuple(templates))


async def entry_image(reader: EventStore, vault: BiometricReader, watchlist_id: str, entry_id: str,
                      index: int) -> bytes:
    view = await get_watchlist(reader, watchlist_id)
    entry = find_entry(view, entry_id)
    if not 0 <= index < len(entry.images):
        raise NotFound(f"entry {entry_id!r} has no image {index}", code="image_not_found")
    return await vault.image(view.deployment_id, entry.images[index].image_blob_id)


async def entry_with_personal_details(reader: EventStore, vault: BiometricReader, watchlist_id: str,
                                      entry_id: str) -> tuple[Entry, PersonalView]:
    view = await get_watchlist(reader, watchlist_id)
    entry = find_entry(view, entry_id)
    return entry, await open_personal(vault, view.deployment_id, entry)


async def rebuild_template_index(reader: EventStore, vault: BiometricReader, index: TemplateIndex) -> int:
    """Refill the in-memory duplicate index from the vault (templates of non-purged watchlists)."""
    count = 0
    views: list[WatchlistView] = [v for v in await list_watchlists(reader) if not v.purged]
    for view in views:
        await index.drop(view.watchlist_id)
        try:
            for entry in view.entries:
                templates = [await vault.template(view.deployment_id, i.template_blob_id)
                             for i in entry.images]
                await index.add(view.watchlist_id, entry.entry_id, templates)
                count += len(templates)
        except (KeyDestroyed, NotFound) as gone:
            # Shredded or missing for good: retrying cannot help, and the other watchlists still need
            # their index. Unavailability (the key service down) propagates, so the caller retries.
            await index.drop(view.watchlist_id)
            log.error("watchlist templates unreadable; duplicate detection off for it",
                      watchlist_id=view.watchlist_id, code=gone.code)
    return count
