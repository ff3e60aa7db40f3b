"""One handler per command: load the Watchlist, let it decide, save its events in one unit of work."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lfr_platform.aggregate import Attribution
from lfr_platform.clock import Clock, SystemClock
from lfr_platform.errors import ConcurrencyError, DomainRuleViolation
from lfr_platform.eventstore import EventDatabase, EventSourcedRepository, StoredEvent, UnitOfWork
from lfr_platform.telemetry import get_logger

from lfr_watchlists.adapters.cached_repository import CatchUpRepository
from lfr_watchlists.app import commands as c
from lfr_watchlists.app.messagebus import Handlers, MessageBus
from lfr_watchlists.app.personal import seal_personal
from lfr_watchlists.app.ports import BiometricVault, Enroller, EnrolResult, Template, TemplateIndex
from lfr_watchlists.domain.entry import EntryImage
from lfr_watchlists.domain.events import WATCHLIST_EVENTS
from lfr_watchlists.domain.watchlist import NearestEntry, Watchlist, WatchlistPolicy

log = get_logger(__name__)

REPOSITORY: EventSourcedRepository[Watchlist] = EventSourcedRepository(Watchlist, WATCHLIST_EVENTS)


@dataclass
class WatchlistServices:
    db: EventDatabase
    enroller: Enroller
    templates: TemplateIndex
    vault: BiometricVault
    policy: WatchlistPolicy = field(default_factory=WatchlistPolicy)
    clock: Clock = field(default_factory=SystemClock)
    # Catches up instead of rehydrating: adding entry n would otherwise replay n events.
    repository: CatchUpRepository[Watchlist] = field(default_factory=lambda: CatchUpRepository(REPOSITORY))


def _who(svc: WatchlistServices, cmd: c.Command) -> Attribution:
    return {"actor": cmd.actor, "role": cmd.role, "at": svc.clock.now()}


async def _change(
    svc: WatchlistServices, cmd: c.Command, watchlist_id: str, decide: Callable[[Watchlist], None]
) -> list[StoredEvent]:
    async with svc.db.unit_of_work() as uow:
        watchlist = await svc.repository.get(uow.events, watchlist_id)
        decide(watchlist)
        stored = await svc.repository.save(uow.events, watchlist, correlation_id=cmd.correlation_id)
        await uow.commit()
    svc.repository.committed(watchlist)
    return stored


async def create(cmd: c.CreateWatchlist, svc: WatchlistServices) -> list[StoredEvent]:
    async with svc.db.unit_of_work() as uow:
        if await uow.events.read_stream(cmd.watchlist_id):
            raise DomainRuleViolation(f"watchlist {cmd.watchlist_id!r} already exists",
                                      code="watchlist_exists")
        watchlist = Watchlist.create(cmd.watchlist_id, cmd.deployment_id, cmd.name, **_who(svc, cmd))
        stored = await svc.repository.save(uow.events, watchlist, correlation_id=cmd.correlation_id)
        await uow.commit()
    svc.repository.committed(watchlist)
    return stored


async def _enrol_all(svc: WatchlistServices, cmd: c.AddWatchlistEntry) -> list[EnrolResult]:
    results: list[EnrolResult] = []
    for index, image in enumerate(cmd.images):
        result = await svc.enroller.enrol(image.content)
        if result.template is None:
            assert result.refusal is not None
            explanation = result.message or result.refusal.value.replace("_", " ")
            raise DomainRuleViolation(
                f"image {index} cannot be enrolled: {explanation}",
                code="enrolment_refused", details={"image_index": index, "reason": result.refusal.value},
            )
        results.append(result)
    return results


async def _nearest(
    svc: WatchlistServices, watchlist_id: str, templates: list[Template]
) -> NearestEntry | None:
    found = [n for t in templates if (n := await svc.templates.nearest(watchlist_id, t)) is not None]
    return max(found, key=lambda n: n.similarity, default=None)


async def add_entry(cmd: c.AddWatchlistEntry, svc: WatchlistServices) -> list[StoredEvent]:
    now = svc.clock.now()
    taken_on = [i.taken_on for i in cmd.images]
    async with svc.db.unit_of_work() as uow:
        watchlist = await svc.repository.get(uow.events, cmd.watchlist_id)
        # Every non-biometric rule first: a refused entry never reaches enrolment or the vault.
        watchlist.check_new_entry(cmd.entry_id, cmd.details, taken_on, None, svc.policy, now.date())
        enrolled = await _enrol_all(svc, cmd)
        templates = [r.template for r in enrolled if r.template is not None]
        nearest = await _nearest(svc, watchlist.id, templates)
        watchlist.check_new_entry(cmd.entry_id, cmd.details, taken_on, nearest, svc.policy, now.date())
        # A crash between here and commit leaves unreferenced blobs; retention sweeps those.
        images: list[EntryImage] = []
        for upload, result in zip(cmd.images, enrolled, strict=True):
            assert result.template is not None
            images.append(EntryImage(
                image_blob_id=await svc.vault.put_image(watchlist.deployment_id, upload.content),
                template_blob_id=await svc.vault.put_template(watchlist.deployment_id, result.template),
                taken_on=upload.taken_on,
            ))
        models = {r.model_version for r in enrolled}
        if len(models) > 1:  # the enroller changed model mid-entry (a rolling upgrade): try again
            # The bus retries a concurrency conflict, re-enrolling every image on one model.
            raise ConcurrencyError(watchlist.id, watchlist.version, watchlist.version)
        sealed = await seal_personal(svc.vault, watchlist.deployment_id, cmd.details.personal())
        watchlist.add_entry(cmd.entry_id, cmd.details, tuple(images), nearest, svc.policy, sealed=sealed,
                            model_version=models.pop(), **_who(svc, cmd))
        stored = await svc.repository.save(uow.events, watchlist, correlation_id=cmd.correlation_id)
        await uow.commit()
    svc.repository.committed(watchlist)
    await svc.templates.add(cmd.watchlist_id, cmd.entry_id, templates)
    return stored


async def remove_entry(cmd: c.RemoveWatchlistEntry, svc: WatchlistServices) -> list[StoredEvent]:
    stored = await _change(svc, cmd, cmd.watchlist_id,
                           lambda w: w.remove_entry(cmd.entry_id, cmd.reason, **_who(svc, cmd)))
    await svc.templates.remove(cmd.watchlist_id, cmd.entry_id)
    return stored


async def freeze(cmd: c.FreezeWatchlist, svc: WatchlistServices) -> list[StoredEvent]:
    return await _change(svc, cmd, cmd.watchlist_id,
                         lambda w: w.freeze(cmd.deployment_id, cmd.revision, **_who(svc, cmd)))


async def reopen(cmd: c.ReopenWatchlist, svc: WatchlistServices) -> list[StoredEvent]:
    return await _change(svc, cmd, cmd.watchlist_id, lambda w: w.reopen(cmd.reason, **_who(svc, cmd)))


async def purge(cmd: c.PurgeWatchlist, svc: WatchlistServices) -> list[StoredEvent]:
    stored = await _change(svc, cmd, cmd.watchlist_id, lambda w: w.purge(cmd.reason, **_who(svc, cmd)))
    await svc.templates.drop(cmd.watchlist_id)
    return stored


async def react_in(uow: UnitOfWork, cmd: c.FreezeWatchlist | c.ReopenWatchlist, svc: WatchlistServices
                   ) -> list[StoredEvent]:
    """A reaction to a deployment event, inside the consumer's unit of work (the tracking row commits
    with it: exactly-once effect). A freeze the watchlist refuses (it changed after the officer saw it)
    is recorded as WatchlistFreezeRefused instead of failing, so it is audited and never retried."""
    svc.repository.forget(cmd.watchlist_id)  # the consumer commits later; the cache must not run ahead
    watchlist = await REPOSITORY.get(uow.events, cmd.watchlist_id)
    who = _who(svc, cmd)
    if isinstance(cmd, c.ReopenWatchlist):
        watchlist.reopen(cmd.reason, **who)
    else:
        try:
            watchlist.freeze(cmd.deployment_id, cmd.revision, **who)
        except DomainRuleViolation as refusal:
            log.warning("watchlist freeze refused", watchlist_id=cmd.watchlist_id,
                        deployment_id=cmd.deployment_id, code=refusal.code, authorised_revision=cmd.revision,
                        current_revision=watchlist.revision)
            watchlist.record_freeze_refused(cmd.deployment_id, cmd.revision, refusal, **who)
    return await REPOSITORY.save(uow.events, watchlist, correlation_id=cmd.correlation_id)


HANDLERS = (
    Handlers[WatchlistServices, list[StoredEvent]]()
    .register(c.CreateWatchlist, create)
    .register(c.AddWatchlistEntry, add_entry)
    .register(c.RemoveWatchlistEntry, remove_entry)
    .register(c.FreezeWatchlist, freeze)
    .register(c.ReopenWatchlist, reopen)
    .register(c.PurgeWatchlist, purge)
)
WatchlistBus = MessageBus[WatchlistServices, list[StoredEvent]]


def build_bus(services: WatchlistServices) -> WatchlistBus:
    return MessageBus(services, HANDLERS)
