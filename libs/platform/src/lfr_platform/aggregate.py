"""Event-sourced aggregates: small, explicit, past-tense events; state only ever changes by applying one.

An aggregate's events are frozen dataclasses subclassing DomainEvent. `Aggregate._trigger` makes the next
event, applies it and queues it; the repository appends the queue with the expected version.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, ClassVar, Self, TypedDict, TypeVar

from pydantic import TypeAdapter

# Turns one schema version's fields into the next one's. It receives the stored data merged with the
# envelope fields (so `occurred_at` is at hand) and returns the fields of the next version.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class DomainEvent:
    stream_id: str
    version: int
    occurred_at: datetime
    actor: str
    role: str

    # Bumped when the event's fields change meaning; readers upcast older versions.
    schema_version: ClassVar[int] = 1
    # {n: turns the fields of version n into those of n + 1}, for every n below `schema_version`.
    # Stored events are never rewritten: an old shape is upcast each time it is read.
    upcasters: ClassVar[Mapping[int, Upcaster]] = MappingProxyType({})

    @classmethod
    def event_type(cls) -> str:
        return cls.__name__

    def payload(self) -> dict[str, Any]:
        """The event's own fields as JSON-ready data (envelope fields live in the store's columns)."""
        dumped = _adapter_for(type(self)).dump_python(self, mode="json")
        return {k: v for k, v in dumped.items() if k not in _ENVELOPE_FIELDS}


_ENVELOPE_FIELDS = frozenset({"stream_id", "version", "occurred_at", "actor", "role"})


# Building a TypeAdapter costs milliseconds; events are serialised on every append. A plain dict rather
# than functools.cache: mypy takes a frozen dataclass's instance __hash__ for the class's and refuses
# `type[DomainEvent]` as a cache key.
_ADAPTERS: dict[type[DomainEvent], TypeAdapter[Any]] = {}


def _adapter_for(event_cls: type[DomainEvent]) -> TypeAdapter[Any]:
    adapter = _ADAPTERS.get(event_cls)
    if adapter is None:
        adapter = _ADAPTERS[event_cls] = TypeAdapter(event_cls)
    return adapter


E = TypeVar("E", bound=DomainEvent)


class Attribution(TypedDict):
    """Who decided, in which role, and when: the keywords every aggregate decision takes and records on
    its event. Handlers build one from the command and the clock and pass it as ``**attribution``."""

    actor: str
    role: str
    at: datetime


class EventRegistry:
    """Maps stored event type names back to their classes."""

    def __init__(self, *event_classes: type[DomainEvent]) -> None:
        self._by_name: dict[str, type[DomainEvent]] = {}
        self._adapters: dict[str, TypeAdapter[Any]] = {}
        for cls in event_classes:
            self.register(cls)

    def register(self, cls: type[DomainEvent]) -> None:
        self._by_name[cls.event_type()] = cls
        self._adapters[cls.event_type()] = TypeAdapter(cls)

    def __contains__(self, event_type: str) -> bool:
        return event_type in self._by_name

    def rebuild(
        self,
        event_type: str,
        *,
        data: dict[str, Any],
        stream_id: str,
        version: int,
        occurred_at: datetime,
        actor: str,
        role: str,
        schema_version: int | None = None,
    ) -> DomainEvent:
        """The event as the current code defines it; `schema_version` is the stored one (None: current)."""
        if event_type not in self._by_name:
            raise KeyError(f"unknown event type {event_type!r}")
        fields = dict(data)
        fields.update(stream_id=stream_id, version=version, occurred_at=occurred_at, actor=actor, role=role)
        fields = _upcast(self._by_name[event_type], fields, schema_version)
        event: DomainEvent = self._adapters[event_type].validate_python(fields)
        return event


def _upcast(cls: type[DomainEvent], fields: dict[str, Any], stored: int | None) -> dict[str, Any]:
    current = cls.schema_version
    if stored is None or stored == current:
        return fields
    if stored > current:
        raise ValueError(
            f"{cls.event_type()} schema {stored} is newer than this code reads ({current}): upgrade it"
        )
    for version in range(stored, current):
        step = cls.upcasters.get(version)
        if step is None:
            raise ValueError(f"{cls.event_type()} has no upcaster from schema {version} to {version + 1}")
        fields = step(fields)
    return fields


class Aggregate:
    """Base for event-sourced aggregates. Subclasses implement `_apply` (a pure state transition)."""

    stream_type: ClassVar[str]

    def __init__(self, stream_id: str) -> None:
        self.id = stream_id
        self.version = 0
        self._pending: list[DomainEvent] = []
        self._init_state()

    def _apply(self, event: DomainEvent) -> None:
        raise NotImplementedError

    def _trigger(self, event_cls: type[E], *, actor: str, role: str, at: datetime, **fields: Any) -> E:
        event = event_cls(
            stream_id=self.id, version=self.version + 1, occurred_at=at, actor=actor, role=role, **fields
        )
        self._mutate(event)
        self._pending.append(event)
        return event

    def _mutate(self, event: DomainEvent) -> None:
        self._apply(event)
        self.version = event.version

    def collect_pending(self) -> list[DomainEvent]:
        pending, self._pending = self._pending, []
        return pending

    @property
    def pending(self) -> tuple[DomainEvent, ...]:
        return tuple(self._pending)

    @classmethod
    def rehydrate(cls, stream_id: str, events: Iterable[DomainEvent]) -> Self:
        aggregate = cls.__new__(cls)
        Aggregate.__init__(aggregate, stream_id)
        for event in events:
            aggregate._mutate(event)
        return aggregate

    def _init_state(self) -> None:
        """Set empty state before the first event is applied (called by rehydrate and by __init__)."""


def replace(event: E, **changes: Any) -> E:
    return dataclasses.replace(event, **changes)
