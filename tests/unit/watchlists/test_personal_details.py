"""An entry's details are validated whole, then split: facts in the event, personal details sealed in the
vault and referenced by blob id and SHA-256. Schema-1 events (every detail in clear) still load."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import pytest
from lfr_platform.crypto import DecryptionFailed, KeyDestroyed
from lfr_platform.errors import DomainRuleViolation
from lfr_platform.eventstore import EventMetadata, NewEvent
from lfr_watchlists.app import commands as c
from lfr_watchlists.app.handlers import REPOSITORY
from lfr_watchlists.app.personal import PersonalState, open_personal
from lfr_watchlists.app.queries import get_watchlist, watchlist_summary
from lfr_watchlists.domain.entry import AgeBand, Category, EntryFacts, ImageSource, PersonalDetails, SealedRef

from .conftest import DEPLOYMENT, NOW, WATCHLIST, FakeVault, World, add, details, image

REASON = "Warrant 2026/331 for robbery at Stratford"


@pytest.mark.parametrize(
    ("changes", "band"),
    [
        ({"date_of_birth": date(1990, 5, 1)}, AgeBand.ADULT),
        ({"date_of_birth": date(2013, 11, 23)}, AgeBand.UNDER_13),  # 13 tomorrow: under 13 when listed
        ({"date_of_birth": date(2013, 11, 22)}, AgeBand.AGE_13_TO_17),  # 13 today
        ({"date_of_birth": date(2008, 11, 23)}, AgeBand.AGE_13_TO_17),
        ({"date_of_birth": date(2008, 11, 22)}, AgeBand.ADULT),
        ({"date_of_birth": None, "age_band": AgeBand.AGE_13_TO_17}, AgeBand.AGE_13_TO_17),
    ],
)
def test_facts_keep_the_band_on_the_day_of_listing_and_no_date_of_birth(changes: dict, band: AgeBand) -> None:
    submitted = details(**changes, disability=True)
    assert submitted.facts(NOW.date()) == EntryFacts(
        category=Category.WANTED_ON_WARRANT, image_source=ImageSource.CUSTODY, approved_by="di-approver",
        age_band=band, disability=True,
    )  # fmt: skip


def test_personal_details_are_everything_that_describes_the_person() -> None:
    submitted = details(
        category=Category.OTHER,
        category_other="Named in MAPPA referral 12",
        image_source=ImageSource.OTHER,
        image_source_other="Doorbell still",
        reason=REASON,
    )
    assert submitted.personal() == PersonalDetails(
        reason=REASON, category_other="Named in MAPPA referral 12", image_source_other="Doorbell still",
        date_of_birth=date(1990, 5, 1),
    )  # fmt: skip


async def test_the_event_holds_facts_and_a_reference_never_the_personal_details(world: World) -> None:
    await world.created()
    (added,) = await world.run(
        add(
            "e-1",
            reason=REASON,
            category=Category.OTHER,
            category_other="Named in MAPPA referral 12",
            image_source=ImageSource.OTHER,
            image_source_other="Doorbell still",
            date_of_birth=date(2011, 2, 3),
        )
    )
    assert added.schema_version == 2
    raw = json.dumps(dict(added.data))
    for secret in (REASON, "MAPPA", "Doorbell", "2011-02-03", "date_of_birth", "reason"):
        assert secret not in raw, secret
    assert added.data["details"] == {
        "category": "other",
        "image_source": "other",
        "approved_by": "di-approver",
        "age_band": "13_to_17",
        "disability": False,
    }
    ref = added.data["sealed_details"]
    sealed = world.vault.blobs[ref["blob_id"]]
    assert isinstance(sealed, bytes) and hashlib.sha256(sealed).hexdigest() == ref["sha256"]
    assert json.loads(sealed)["reason"] == REASON  # what the real vault encrypts
    assert "legacy_details" not in added.data


async def test_validation_runs_on_the_full_details_before_anything_is_sealed(world: World) -> None:
    await world.created()
    with pytest.raises(DomainRuleViolation, match="image cannot predate the date of birth"):
        await world.run(add(date_of_birth=date(2024, 1, 1), images=(image(taken_on=date(2023, 5, 1)),)))
    assert world.vault.blobs == {}


async def test_the_sealed_blob_is_listed_for_deletion_with_the_images(world: World) -> None:
    await world.created()
    (added,) = await world.run(add("e-1"))
    (removed,) = await world.run(
        c.RemoveWatchlistEntry(
            actor="dc", role="watchlist_manager", watchlist_id=WATCHLIST, entry_id="e-1", reason="arrested"
        )
    )
    assert added.data["sealed_details"]["blob_id"] in removed.data["blob_ids"]


# ----- reading ------------------------------------------------------------------------------------


class ShreddedVault(FakeVault):
    async def open_details(self, deployment_id: str, ref: SealedRef) -> bytes:
        raise KeyDestroyed("the watchlist_media key of deployment dep-1 was destroyed")


class TamperedVault(FakeVault):
    async def open_details(self, deployment_id: str, ref: SealedRef) -> bytes:
        raise DecryptionFailed("blob is not the one its event recorded (SHA-256 differs)")


async def _entry(world: World):  # type: ignore[no-untyped-def]
    return (await get_watchlist(world.db.reader(), WATCHLIST)).entries[0]


async def test_a_reader_opens_the_sealed_details(world: World) -> None:
    await world.created()
    await world.run(add("e-1", reason=REASON))
    view = await open_personal(world.vault, DEPLOYMENT, await _entry(world))
    assert view.state == PersonalState.AVAILABLE
    assert view.details == PersonalDetails(reason=REASON, date_of_birth=date(1990, 5, 1))


@pytest.mark.parametrize("erase", ["key_shredded", "blob_deleted"])
async def test_erased_details_answer_erased(world: World, erase: str) -> None:
    await world.created()
    await world.run(add("e-1"))
    entry = await _entry(world)
    vault = ShreddedVault(world.vault.blobs) if erase == "key_shredded" else FakeVault()
    view = await open_personal(vault, DEPLOYMENT, entry)
    assert (view.state, view.details) == (PersonalState.ERASED, None)
    assert view.sha256 == entry.sealed_details.sha256  # type: ignore[union-attr]


async def test_a_tampered_blob_is_an_error_not_erased(world: World) -> None:
    await world.created()
    await world.run(add("e-1"))
    with pytest.raises(DecryptionFailed):
        await open_personal(TamperedVault(), DEPLOYMENT, await _entry(world))


# ----- schema 1 -----------------------------------------------------------------------------------

V1_DETAILS = {
    "category": "suspect", "reason": "Named in crime report CR/1", "image_source": "other",
    "image_source_other": "CCTV still", "category_other": None, "approved_by": "insp-9",
    "date_of_birth": "2013-12-01", "age_band": None, "disability": True,
}  # fmt: skip


async def _store_v1(world: World) -> None:
    who = EventMetadata(actor="dc", role="watchlist_manager")
    created = NewEvent(
        event_type="WatchlistCreated",
        data={"deployment_id": DEPLOYMENT, "name": "old"},
        occurred_at=NOW,
        metadata=who,
    )
    added = NewEvent(
        event_type="WatchlistEntryAdded", schema_version=1, occurred_at=NOW, metadata=who,
        data={"entry_id": "e-old", "details": V1_DETAILS, "revision": 1, "model_version": "m1",
              "images": [{"image_blob_id": "i1", "template_blob_id": "t1", "taken_on": "2025-01-10"}],
              "warnings": []},
    )  # fmt: skip
    async with world.db.unit_of_work() as uow:
        await uow.events.append(WATCHLIST, "watchlist", 0, [created, added])
        await uow.commit()


async def test_a_schema_1_entry_loads_with_its_facts_and_its_details_marked_in_clear(world: World) -> None:
    await _store_v1(world)
    watchlist = await REPOSITORY.get(world.db.reader(), WATCHLIST)
    entry = watchlist.entries["e-old"]
    assert entry.details == EntryFacts(
        category=Category.SUSPECT,
        image_source=ImageSource.OTHER,
        approved_by="insp-9",
        age_band=AgeBand.UNDER_13,
        disability=True,
    )
    assert entry.sealed_details is None and entry.blob_ids == ("i1", "t1")
    assert entry.legacy_details == PersonalDetails(
        reason="Named in crime report CR/1", image_source_other="CCTV still", date_of_birth=date(2013, 12, 1)
    )
    view = await open_personal(world.vault, DEPLOYMENT, entry)
    assert (view.state, view.details) == (PersonalState.RECORDED_IN_CLEAR, entry.legacy_details)
    summary = await watchlist_summary(world.db.reader(), WATCHLIST)
    assert [(e.under_13, e.disability) for e in summary.entries] == [(True, True)]


async def test_a_schema_1_store_takes_new_entries_in_schema_2(world: World) -> None:
    await _store_v1(world)
    (added,) = await world.run(add("e-new", images=(image("bob"),)))
    assert (added.schema_version, added.version, added.data["revision"]) == (2, 3, 2)
    assert [e.entry_id for e in (await get_watchlist(world.db.reader(), WATCHLIST)).entries] == [
        "e-new",
        "e-old",
    ]
