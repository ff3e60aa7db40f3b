"""Injectable time. Retention and deployment windows are tested by moving a clock, never by sleeping."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock:
    """A clock that only moves when told to (tests, `lfr retention --at`)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = start or datetime.now(UTC)

    def now(self) -> datetime:
        return self._now

    def advance(self, delta: timedelta) -> None:
        self._now += delta

    def set(self, moment: datetime) -> None:
        self._now = moment


def utc(moment: datetime) -> datetime:
    """Refuse naive datetimes: every time in the platform is an aware UTC instant."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: give a timezone (UTC)")
    return moment.astimezone(UTC)
