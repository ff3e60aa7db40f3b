"""Request and response bodies of the watchlists REST API. No image bytes and no templates in any of them."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, Field

from lfr_watchlists.app.personal import PersonalState, PersonalView
from lfr_watchlists.app.queries import WatchlistView
from lfr_watchlists.domain.entry import AgeBand, Category, EntryDetails, ImageSource
from lfr_watchlists.domain.summary import WatchlistSummary
from lfr_watchlists.domain.watchlist import Entry


class CreateWatchlistBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    deployment_id: str = Field(min_length=1, max_length=64)
    name: str = Field(min_length=1, max_length=200)
    watchlist_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class EntryFields(BaseModel):
    """The non-biometric facts of an entry, sent as form fields or as one JSON form field `details`."""

    model_config = ConfigDict(extra="forbid")
    entry_id: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    category: Category
    category_other: str | None = Field(default=None, max_length=500)
    reason: str = Field(max_length=2000)
    image_source: ImageSource
    image_source_other: str | None = Field(default=None, max_length=500)
    image_taken_on: list[date] = Field(description="the date each image was taken, in upload order")
    date_of_birth: date | None = None
    age_band: AgeBand | None = None
    disability: bool = False
    approved_by: str = Field(max_length=200)

    def details(self) -> EntryDetails:
        return EntryDetails(category=self.category, category_other=self.category_other, reason=self.reason,
                            image_source=self.image_source, image_source_other=self.image_source_other,
                            date_of_birth=self.date_of_birth, age_band=self.age_band,
                            disability=self.disability, approved_by=self.approved_by)


class WarningOut(BaseModel):
    code: str
    message: str
    image_index: int | None = None


class ImageOut(BaseModel):
    index: int
    taken_on: date


class PersonalDetailsOut(BaseModel):
    """The entry's personal details. `sealed`: not opened (a list, or a role that may not read them);
    `available`: opened; `erased`: retention destroyed them; `recorded_in_clear`: written before sealing."""

    state: str
    sha256: str | None = Field(default=None, description="SHA-256 of the sealed blob, as its event records")
    reason: str | None = None
    category_other: str | None = None
    image_source_other: str | None = None
    date_of_birth: date | None = None
    note: str | None = None

    @classmethod
    def sealed(cls, entry: Entry) -> PersonalDetailsOut:
        if entry.sealed_details is None:
            return cls(state=PersonalState.RECORDED_IN_CLEAR.value)
        return cls(state="sealed", sha256=entry.sealed_details.sha256)

    @classmethod
    def of(cls, view: PersonalView) -> PersonalDetailsOut:
        if view.details is None:
            note = ("erased under the retention policy: the deployment's key was destroyed or the blob "
                    "deleted, so they cannot be recovered") if view.state == PersonalState.ERASED else None
            return cls(state=view.state.value, sha256=view.sha256, note=note)
        d = view.details
        return cls(state=view.state.value, sha256=view.sha256, reason=d.reason,
                   category_other=d.category_other, image_source_other=d.image_source_other,
                   date_of_birth=d.date_of_birth)


class EntryOut(BaseModel):
    """An entry's facts. Its personal details appear as state and hash in listings, and opened only on
    the single-entry route (`watchlists.view_personal`)."""

    entry_id: str
    category: str
    image_source: str
    approved_by: str
    age_band: str = Field(description="believed when the entry was listed")
    disability: bool
    personal_details: PersonalDetailsOut
    images: list[ImageOut]
    warnings: list[WarningOut]
    model_version: str

    @classmethod
    def of(cls, entry: Entry, personal: PersonalDetailsOut | None = None) -> EntryOut:
        d = entry.details
        return cls(entry_id=entry.entry_id, category=d.category.value, image_source=d.image_source.value,
                   approved_by=d.approved_by, age_band=d.age_band.value, disability=d.disability,
                   personal_details=personal or PersonalDetailsOut.sealed(entry),
                   images=[ImageOut(index=i, taken_on=img.taken_on) for i, img in enumerate(entry.images)],
                   warnings=[WarningOut(code=w.code, message=w.message, image_index=w.image_index)
                             for w in entry.warnings],
                   model_version=entry.model_version)


class WatchlistOut(BaseModel):
    watchlist_id: str
    deployment_id: str
    name: str
    revision: int
    frozen: bool
    frozen_at_revision: int | None
    purged: bool
    size: int
    entries: list[EntryOut] | None = None

    @classmethod
    def of(cls, view: WatchlistView, *, with_entries: bool) -> WatchlistOut:
        return cls(watchlist_id=view.watchlist_id, deployment_id=view.deployment_id, name=view.name,
                   revision=view.revision, frozen=view.frozen_at_revision is not None,
                   frozen_at_revision=view.frozen_at_revision, purged=view.purged, size=len(view.entries),
                   entries=[EntryOut.of(e) for e in view.entries] if with_entries else None)


class EntryAddedOut(BaseModel):
    watchlist_id: str
    entry_id: str
    revision: int
    warnings: list[WarningOut]


class ChangeOut(BaseModel):
    watchlist_id: str
    revision: int
    event: str


class SummaryEntryOut(BaseModel):
    entry_id: str
    under_18: bool
    under_13: bool
    disability: bool


class SummaryOut(BaseModel):
    """Ages are the bands believed when each entry was listed."""

    watchlist_id: str
    deployment_id: str
    version: int
    frozen: bool
    size: int
    contains_under_18: bool
    contains_under_13: bool
    contains_disability: bool
    entries: list[SummaryEntryOut]

    @classmethod
    def of(cls, summary: WatchlistSummary) -> SummaryOut:
        entries = [SummaryEntryOut(entry_id=e.entry_id, under_18=e.under_18, under_13=e.under_13,
                                   disability=e.disability) for e in summary.entries]
        return cls(watchlist_id=summary.watchlist_id, deployment_id=summary.deployment_id,
                   version=summary.version, frozen=summary.frozen, size=summary.size,
                   contains_under_18=any(e.under_18 for e in entries),
                   contains_under_13=any(e.under_13 for e in entries),
                   contains_disability=any(e.disability for e in entries), entries=entries)
