"""Every command an aggregate's bus knows records events carrying the actor and role that sent it: each
area's test names one scenario per command (a world where the command is valid, and the command), and
checks the scenarios cover the bus's handlers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

World = TypeVar("World")
Scenario = Callable[[World], Awaitable[Any]]


class Scenarios(dict[type, Scenario[World]], Generic[World]):
    def register(self, command_type: type) -> Callable[[Scenario[World]], Scenario[World]]:
        def add(scenario: Scenario[World]) -> Scenario[World]:
            self[command_type] = scenario
            return scenario

        return add


async def assert_attributed(world: Any, command: Any) -> None:
    """Run `command` in `world`; it records at least one event, each with the command's actor and role."""
    stored = await world.run(command)
    assert stored, f"{type(command).__name__} recorded no event"
    for event in stored:
        assert (event.metadata.actor, event.metadata.role) == (command.actor, command.role)
