"""Fixtures for the watchlist unit tests: in-memory event store, the real numpy template index, and
fakes of the enroller (the inference service's gRPC Enrol needs Triton) and the encrypted vault."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

import pytest
from lfr_platform.blobs import BlobNotFound
from lfr_platform.clock import ManualClock
from lfr_platform.eventstore import InMemoryEventDatabase, StoredEvent
from lfr_watchlists.adapters.template_index import InMemoryTemplateIndex
from lfr_watchlists.app import commands as c
from lfr_watchlists.app.handlers import WatchlistServices, build_bus
from lfr_watchlists.app.messagebus import MessageBus
from lfr_watchlists.app.ports import EnrolRefusal, EnrolResult
from lfr_watchlists.domain.entry import Category, EntryDetails, ImageSource, SealedRef

WATCHLIST = "wl-1"
DEPLOYMENT = "dep-1"
MANAGER = ("dc-manager", "watchlist_manager")
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
DIMENSIONS = 128


def _person(name: str) -> list[float]:
    rng = random.Random(name)
    return [rng.gauss(0.0, 1.0) for _ in range(DIMENSIONS)]


class FakeEnroller:
    """b"face:<person>" enrols to that person's template; b"face:<person>#<n>" is another photo of the
    same person (the template plus a little noise); b"refuse:<reason>" is refused."""

    def __init__(self) -> None:
        self.calls = 0

    async def enrol(self, image: bytes) -> EnrolResult:
        self.calls += 1
        kind, _, name = image.decode().partition(":")
        if kind == "refuse":
            return EnrolResult(refusal=EnrolRefusal(name))
        person, _, photo = name.partition("#")
        template = _person(person)
        if photo:
            noise = random.Random(name)
            template = [v + 0.1 * noise.gauss(0.0, 1.0) for v in template]
        return EnrolResult(template=template)


@dataclass
class FakeVault:
    """Stands in for encrypted blob storage (the real SealedBlobVault is exercised by the integration
    tests): keeps plaintext, so a test can see what would have been sealed."""

    blobs: dict[str, object] = field(default_factory=dict)

    async def put_image(self, deployment_id: str, content: bytes) -> str:
        blob_id = f"watchlist_media/{deployment_id}/img-{len(self.blobs) + 1}"
        self.blobs[blob_id] = content
        return blob_id

    async def put_template(self, deployment_id: str, template: Sequence[float]) -> str:
        blob_id = f"watchlist_media/{deployment_id}/tpl-{len(self.blobs) + 1}"
        self.blobs[blob_id] = list(template)
        return blob_id

    async def seal_details(self, deployment_id: str, plaintext: bytes) -> SealedRef:
        blob_id = f"watchlist_media/{deployment_id}/per-{len(self.blobs) + 1}"
        self.blobs[blob_id] = plaintext
        return SealedRef(blob_id=blob_id, sha256=hashlib.sha256(plaintext).hexdigest())

    async def open_details(self, deployment_id: str, ref: SealedRef) -> bytes:
        content = self.blobs.get(ref.blob_id)
        if not isinstance(content, bytes):
            raise BlobNotFound(f"no blob {ref.blob_id!r}")
        return content


def details(**changes: object) -> EntryDetails:
    base = EntryDetails(category=Category.WANTED_ON_WARRANT, reason="Warrant 2026/331 for robbery",
                        image_source=ImageSource.CUSTODY, approved_by="di-approver",
                        date_of_birth=date(1990, 5, 1))
    return replace(base, **changes)  # type: ignore[arg-type]


def image(person: str = "alice", taken_on: date = date(2025, 1, 10)) -> c.UploadedImage:
    return c.UploadedImage(content=f"face:{person}".encode(), taken_on=taken_on)


def add(entry_id: str = "e-1", *, images: tuple[c.UploadedImage, ...] | None = None,
        actor: tuple[str, str] = MANAGER, **detail_changes: object) -> c.AddWatchlistEntry:
    return c.AddWatchlistEntry(actor=actor[0], role=actor[1], watchlist_id=WATCHLIST, entry_id=entry_id,
                               details=details(**detail_changes),
                               images=images if images is not None else (image(),))


@dataclass
class World:
    bus: MessageBus[WatchlistServices]
    db: InMemoryEventDatabase
    clock: ManualClock
    enroller: FakeEnroller
    vault: FakeVault

    async def run(self, command: c.Command) -> list[StoredEvent]:
        result: list[StoredEvent] = await self.bus.handle(command)
        return result

    async def events(self) -> list[StoredEvent]:
        return await self.db.reader().read_stream(WATCHLIST)

    async def created(self) -> None:
        await self.run(c.CreateWatchlist(actor=MANAGER[0], role=MANAGER[1], watchlist_id=WATCHLIST,
                                         deployment_id=DEPLOYMENT, name="Stratford wanted"))

    async def with_alice(self) -> None:
        await self.created()
        await self.run(add("e-alice"))

    async def frozen(self) -> None:
        await self.with_alice()
        await self.run(c.FreezeWatchlist(actor="supt-ao", role="authorising_officer",
                                         watchlist_id=WATCHLIST, deployment_id=DEPLOYMENT, revision=1))


@pytest.fixture
def world() -> World:
    clock = ManualClock(NOW)
    db = InMemoryEventDatabase(clock=clock)
    enroller, vault = FakeEnroller(), FakeVault()
    services = WatchlistServices(db=db, enroller=enroller, templates=InMemoryTemplateIndex(), vault=vault,
                                 clock=clock)
    return World(build_bus(services), db, clock, enroller, vault)
