"""Who is calling: the seven roles of the governance model and the authenticated principal."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    AUTHORISING_OFFICER = "authorising_officer"
    SILVER_COMMANDER = "silver_commander"
    WATCHLIST_MANAGER = "watchlist_manager"
    OPERATOR = "operator"
    ENGAGEMENT_OFFICER = "engagement_officer"
    OVERSIGHT = "oversight"
    ADMIN = "admin"


ROLES: tuple[Role, ...] = tuple(Role)


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated person acting in exactly one role; commands copy `subject` and `role` into events."""

    subject: str
    role: Role
    name: str

    @property
    def actor(self) -> str:
        return self.subject
