"""Entries, warnings, summary ages, freeze/reopen, purge, and no biometrics in any event."""

from __future__ import annotations

import json
from datetime import date

import pytest
from lfr_platform.errors import DomainRuleViolation
from lfr_watchlists.app import commands as c
from lfr_watchlists.app.queries import get_watchlist, list_watchlists, watchlist_summary
from lfr_watchlists.domain.entry import AgeBand

from .conftest import DEPLOYMENT, MANAGER, WATCHLIST, World, add, image


async def test_distinct_people_are_enrolled_with_blob_ids(world: World) -> None:
    await world.with_alice()
    stored = await world.run(add("e-bob", images=(image("bob"), image("bob#2"))))
    added = stored[0]
    assert added.event_type == "WatchlistEntryAdded"
    assert added.data["revision"] == 2
    assert [set(i) for i in added.data["images"]] == [{"image_blob_id", "template_blob_id", "taken_on"}] * 2
    view = await get_watchlist(world.db.reader(), WATCHLIST)
    assert [e.entry_id for e in view.entries] == ["e-alice", "e-bob"]


async def test_events_hold_no_image_bytes_or_templates(world: World) -> None:
    await world.with_alice()
    await world.run(add("e-bob", images=(image("bob"),)))
    recorded = json.dumps([dict(e.data) for e in await world.events()])
    for blob in world.vault.blobs.values():
        if isinstance(blob, bytes):
            assert blob.decode() not in recorded
        else:
            assert all(repr(v)[:8] not in recorded for v in blob[:16])


@pytest.mark.parametrize(
    ("changes", "taken_on", "warned"),
    [
        ({"date_of_birth": date(2010, 1, 1)}, date(2020, 1, 1), True),  # child then, 6+ years ago
        ({"date_of_birth": date(2010, 1, 1)}, date(2022, 1, 1), False),  # child then, recent
        ({"date_of_birth": None, "age_band": AgeBand.AGE_13_TO_17}, date(2019, 6, 1), True),
        ({"date_of_birth": date(1980, 1, 1)}, date(2015, 1, 1), False),  # adult then: old is fine
        ({"date_of_birth": date(2003, 1, 1)}, date(2020, 1, 1), True),  # adult now, child in the photo
    ],
)
async def test_warning_for_child_images_older_than_five_years(world: World, changes: dict,
                                                              taken_on: date, warned: bool) -> None:
    await world.created()
    stored = await world.run(add(images=(image(taken_on=taken_on),), **changes))
    warnings = stored[0].data["warnings"]
    assert [w["code"] for w in warnings] == (["child_image_older_than_5_years"] if warned else [])


async def test_summary_counts_ages_as_believed_when_listed(world: World) -> None:
    """The events hold no date of birth, only the band on the day of listing (2026-11-22): a child who
    turns 13 before the deployment still counts as under 13, never older than on the day."""
    await world.created()
    await world.run(add("e-turns-13", date_of_birth=date(2013, 12, 1), images=(image("p1"),)))
    await world.run(add("e-turned-18", date_of_birth=date(2008, 11, 22), images=(image("p4"),)))
    await world.run(add("e-band-child", date_of_birth=None, age_band=AgeBand.UNDER_13,
                        images=(image("p2"),)))
    await world.run(add("e-adult-dis", date_of_birth=date(1970, 1, 1), disability=True,
                        images=(image("p3"),)))
    summary = await watchlist_summary(world.db.reader(), WATCHLIST)
    flags = {e.entry_id: (e.under_18, e.under_13, e.disability) for e in summary.entries}
    assert flags == {"e-turns-13": (True, True, False), "e-turned-18": (False, False, False),
                     "e-band-child": (True, True, False), "e-adult-dis": (False, False, True)}
    assert (summary.version, summary.size, summary.frozen) == (4, 4, False)


async def test_freeze_reopen_cycle(world: World) -> None:
    await world.frozen()
    view = await get_watchlist(world.db.reader(), WATCHLIST)
    assert view.frozen_at_revision == 1
    # A redelivered freeze is a no-op, not a refusal.
    assert await world.run(c.FreezeWatchlist(actor="supt-ao", role="authorising_officer",
                                             watchlist_id=WATCHLIST, deployment_id=DEPLOYMENT,
                                             revision=1)) == []
    await world.run(c.ReopenWatchlist(actor="insp", role="silver_commander", watchlist_id=WATCHLIST,
                                      reason="camera added: re-authorisation"))
    await world.run(add("e-bob", images=(image("bob"),)))
    assert (await watchlist_summary(world.db.reader(), WATCHLIST)).version == 2


async def test_removed_person_can_be_enrolled_again(world: World) -> None:
    await world.with_alice()
    await world.run(c.RemoveWatchlistEntry(actor=MANAGER[0], role=MANAGER[1], watchlist_id=WATCHLIST,
                                           entry_id="e-alice", reason="arrested"))
    await world.run(add("e-alice-2", images=(image("alice#2"),)))
    assert [e.entry_id for e in (await get_watchlist(world.db.reader(), WATCHLIST)).entries] == ["e-alice-2"]


async def test_duplicate_threshold_is_configurable(world: World) -> None:
    world.bus.context.policy = type(world.bus.context.policy)(duplicate_similarity=0.999)
    await world.with_alice()
    await world.run(add("e-2", images=(image("alice#2"),)))  # similar, but under a strict threshold
    with pytest.raises(DomainRuleViolation):
        await world.run(add("e-3", images=(image("alice"),)))  # identical


async def test_purge_lists_every_blob_and_empties_the_list(world: World) -> None:
    await world.with_alice()
    await world.run(add("e-bob", images=(image("bob"),)))
    stored = await world.run(c.PurgeWatchlist(actor="retention", role="system", watchlist_id=WATCHLIST,
                                              reason="deployment ended; retention"))
    assert set(stored[0].data["blob_ids"]) == set(world.vault.blobs)
    view = await get_watchlist(world.db.reader(), WATCHLIST)
    assert view.purged and view.entries == ()


async def test_list_by_deployment(world: World) -> None:
    await world.created()
    await world.run(c.CreateWatchlist(actor=MANAGER[0], role=MANAGER[1], watchlist_id="wl-2",
                                      deployment_id="dep-2", name="other"))
    assert [v.watchlist_id for v in await list_watchlists(world.db.reader(), DEPLOYMENT)] == [WATCHLIST]
