"""Every watchlist rule, table-driven: each case arranges a state where only that rule refuses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date

import pytest
from lfr_platform.errors import DomainRuleViolation, NotFound
from lfr_watchlists.app import commands as c
from lfr_watchlists.domain.entry import AgeBand, Category, ImageSource

from .conftest import DEPLOYMENT, MANAGER, WATCHLIST, World, add, image

Arrange = Callable[[World], Awaitable[c.Command]]


def on_created(command: c.Command) -> Arrange:
    async def arrange(w: World) -> c.Command:
        await w.created()
        return command
    return arrange


def on_alice(command: c.Command) -> Arrange:
    async def arrange(w: World) -> c.Command:
        await w.with_alice()
        return command
    return arrange


def on_frozen(command: c.Command) -> Arrange:
    async def arrange(w: World) -> c.Command:
        await w.frozen()
        return command
    return arrange


def on_purged(command: c.Command) -> Arrange:
    async def arrange(w: World) -> c.Command:
        await w.with_alice()
        await w.run(c.PurgeWatchlist(actor="retention", role="system", watchlist_id=WATCHLIST,
                                     reason="deployment ended; 31-day retention"))
        return command
    return arrange


def create(watchlist_id: str = WATCHLIST, deployment_id: str = DEPLOYMENT) -> c.CreateWatchlist:
    return c.CreateWatchlist(actor=MANAGER[0], role=MANAGER[1], watchlist_id=watchlist_id,
                             deployment_id=deployment_id, name="x")


def remove(entry_id: str = "e-alice", reason: str = "arrested") -> c.RemoveWatchlistEntry:
    return c.RemoveWatchlistEntry(actor=MANAGER[0], role=MANAGER[1], watchlist_id=WATCHLIST,
                                  entry_id=entry_id, reason=reason)


def freeze(revision: int = 1, deployment_id: str = DEPLOYMENT) -> c.FreezeWatchlist:
    return c.FreezeWatchlist(actor="supt-ao", role="authorising_officer", watchlist_id=WATCHLIST,
                             deployment_id=deployment_id, revision=revision)


def refused(reason: str) -> c.AddWatchlistEntry:
    return add("e-2", images=(image("bob"), c.UploadedImage(content=f"refuse:{reason}".encode(),
                                                           taken_on=date(2025, 3, 1))))


CASES: list[tuple[str, str, Arrange]] = [
    ("watchlist_exists", "create twice", on_created(create())),
    ("deployment_required", "create without deployment", lambda w: _now(create(deployment_id=" "))),
    ("reason_required", "no reason", on_created(add(reason=" "))),
    ("category_detail_required", "other without text", on_created(add(category=Category.OTHER))),
    ("image_source_detail_required", "other source without text",
     on_created(add(image_source=ImageSource.OTHER))),
    ("approver_required", "no approver", on_created(add(approved_by=""))),
    ("age_evidence_required", "no dob, no band", on_created(add(date_of_birth=None))),
    ("age_evidence_ambiguous", "dob and band", on_created(add(age_band=AgeBand.ADULT))),
    ("date_of_birth_in_future", "born tomorrow", on_created(add(date_of_birth=date(2026, 11, 23)))),
    ("images_required", "no images", on_created(add(images=()))),
    ("image_date_in_future", "photo taken tomorrow",
     on_created(add(images=(image(taken_on=date(2026, 11, 23)),)))),
    ("image_before_birth", "photo before birth", on_created(add(images=(image(taken_on=date(1989, 1, 1)),)))),
    ("entry_exists", "same entry id twice", on_alice(add("e-alice", images=(image("bob"),)))),
    ("enrolment_refused", "no face", on_created(refused("no_face"))),
    ("enrolment_refused", "several faces", on_created(refused("several_faces"))),
    ("enrolment_refused", "too small", on_created(refused("too_small"))),
    ("enrolment_refused", "too blurred", on_created(refused("too_blurred"))),
    ("duplicate_subject", "alice again, same photo", on_alice(add("e-2"))),
    ("duplicate_subject", "alice again, another photo", on_alice(add("e-2", images=(image("alice#2"),)))),
    ("duplicate_subject", "bob plus a photo of alice",
     on_alice(add("e-2", images=(image("bob"), image("alice#3"))))),
    ("watchlist_frozen", "add after freeze", on_frozen(add("e-2", images=(image("bob"),)))),
    ("watchlist_frozen", "remove after freeze", on_frozen(remove())),
    ("watchlist_purged", "add after purge", on_purged(add("e-2", images=(image("bob"),)))),
    ("watchlist_purged", "purge twice",
     on_purged(c.PurgeWatchlist(actor="retention", role="system", watchlist_id=WATCHLIST, reason="again"))),
    ("removal_reason_required", "remove without reason", on_alice(remove(reason=""))),
    ("watchlist_version_mismatch", "freeze a stale revision", on_alice(freeze(revision=0))),
    ("watchlist_not_for_deployment", "freeze for another deployment", on_alice(freeze(deployment_id="d-9"))),
    ("purge_reason_required", "purge without reason",
     on_alice(c.PurgeWatchlist(actor="retention", role="system", watchlist_id=WATCHLIST, reason=""))),
]


async def _now(command: c.Command) -> c.Command:
    return command


@pytest.mark.parametrize(("code", "case", "arrange"), CASES, ids=[f"{c}:{n}" for c, n, _ in CASES])
async def test_rule_refuses_with_its_code(world: World, code: str, case: str, arrange: Arrange) -> None:
    command = await arrange(world)
    before = await world.events()
    with pytest.raises(DomainRuleViolation) as refusal:
        await world.run(command)
    assert refusal.value.code == code, refusal.value.message
    assert await world.events() == before, "a refused command records nothing"


async def test_enrolment_refusal_names_image_and_reason(world: World) -> None:
    await world.created()
    with pytest.raises(DomainRuleViolation) as refusal:
        await world.run(refused("too_blurred"))
    assert refusal.value.details == {"image_index": 1, "reason": "too_blurred"}
    assert world.vault.blobs == {}, "nothing is stored for a refused entry"


async def test_duplicate_names_the_other_entry(world: World) -> None:
    await world.with_alice()
    with pytest.raises(DomainRuleViolation) as refusal:
        await world.run(add("e-2", images=(image("alice#2"),)))
    assert refusal.value.details["entry_id"] == "e-alice"
    assert "e-alice" in refusal.value.message


async def test_invalid_entries_never_reach_enrolment(world: World) -> None:
    await world.created()
    with pytest.raises(DomainRuleViolation):
        await world.run(add(reason=""))
    assert world.enroller.calls == 0


async def test_removing_a_missing_entry_is_not_found(world: World) -> None:
    await world.with_alice()
    with pytest.raises(NotFound):
        await world.run(remove("e-nobody"))
