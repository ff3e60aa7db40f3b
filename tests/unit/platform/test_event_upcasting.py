"""EventRegistry reads stored events of older schema versions through the event's upcasters, through
the repository and the in-memory store: history is never rewritten, old shapes still load."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from lfr_platform.aggregate import Aggregate, DomainEvent, EventRegistry
from lfr_platform.eventstore import EventMetadata, EventSourcedRepository, InMemoryEventDatabase, NewEvent

AT = datetime(2026, 11, 22, 9, tzinfo=UTC)
ENVELOPE: dict[str, Any] = {"stream_id": "s-1", "version": 1, "occurred_at": AT, "actor": "a", "role": "r"}


def _v1_to_v2(fields: dict[str, Any]) -> dict[str, Any]:
    first, _, last = fields.pop("name").partition(" ")
    return {**fields, "first": first, "last": last}


def _v2_to_v3(fields: dict[str, Any]) -> dict[str, Any]:
    # The envelope is at hand: a field can be derived from the event's own time.
    return {**fields, "year": fields["occurred_at"].year}


@dataclass(frozen=True, kw_only=True)
class Renamed(DomainEvent):
    schema_version: ClassVar[int] = 3
    upcasters: ClassVar = {1: _v1_to_v2, 2: _v2_to_v3}

    first: str
    last: str
    year: int


@dataclass(frozen=True, kw_only=True)
class Plain(DomainEvent):
    note: str


REGISTRY = EventRegistry(Renamed, Plain)


class Person(Aggregate):
    stream_type = "person"

    def _init_state(self) -> None:
        self.names: list[str] = []

    def _apply(self, event: DomainEvent) -> None:
        assert isinstance(event, Renamed)
        self.names.append(f"{event.last}, {event.first} ({event.year})")


@pytest.mark.parametrize(
    ("schema_version", "data"),
    [
        (1, {"name": "Ada Lovelace"}),
        (2, {"first": "Ada", "last": "Lovelace"}),
        (3, {"first": "Ada", "last": "Lovelace", "year": 2026}),
        (None, {"first": "Ada", "last": "Lovelace", "year": 2026}),  # None: the current version
    ],
)
def test_every_older_version_reads_as_the_current_shape(schema_version: int | None, data: dict) -> None:
    event = REGISTRY.rebuild("Renamed", data=data, schema_version=schema_version, **ENVELOPE)
    assert event == Renamed(first="Ada", last="Lovelace", year=2026, **ENVELOPE)


def test_a_version_newer_than_the_code_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="Renamed schema 4 is newer than this code reads"):
        REGISTRY.rebuild("Renamed", data={}, schema_version=4, **ENVELOPE)


def test_a_missing_upcaster_is_named() -> None:
    @dataclass(frozen=True, kw_only=True)
    class Gap(DomainEvent):
        schema_version: ClassVar[int] = 2

    with pytest.raises(ValueError, match="Gap has no upcaster from schema 1 to 2"):
        EventRegistry(Gap).rebuild("Gap", data={}, schema_version=1, **ENVELOPE)


def test_events_without_upcasters_read_as_before() -> None:
    assert REGISTRY.rebuild("Plain", data={"note": "n"}, schema_version=1, **ENVELOPE).note == "n"


async def test_the_repository_upcasts_what_the_store_holds_and_writes_the_current_version() -> None:
    db = InMemoryEventDatabase()
    old = NewEvent(
        event_type="Renamed",
        data={"name": "Ada Lovelace"},
        schema_version=1,
        occurred_at=AT,
        metadata=EventMetadata(actor="a", role="r"),
    )
    async with db.unit_of_work() as uow:
        await uow.events.append("p-1", "person", 0, [old])
        await uow.commit()
    repository = EventSourcedRepository(Person, REGISTRY)
    person = await repository.get(db.reader(), "p-1")
    assert person.names == ["Lovelace, Ada (2026)"]

    person._trigger(Renamed, actor="a", role="r", at=AT, first="Grace", last="Hopper", year=2026)
    async with db.unit_of_work() as uow:
        (stored,) = await repository.save(uow.events, person)
        await uow.commit()
    assert stored.schema_version == 3
    assert (await db.reader().read_stream("p-1"))[0].data == {"name": "Ada Lovelace"}  # never rewritten
