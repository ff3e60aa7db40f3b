"""A small message bus: one handler per command type, retried when the stream moved on meanwhile.

Handlers re-read the aggregate on every attempt, so a retry re-checks every rule against the new state.

Handlers are registered one by one through `Handlers.register`, which is generic over the command type:
mypy checks that each handler accepts the command type it is registered for, the service's context and
returns the bus's result type (a plain `{CommandType: handler}` dict cannot say that per entry).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Generic, TypeVar

from lfr_platform.errors import ConcurrencyError

Cmd = TypeVar("Cmd")
Ctx = TypeVar("Ctx")
R = TypeVar("R")
Handler = Callable[[Cmd, Ctx], Awaitable[R]]


class Handlers(Generic[Ctx, R]):
    """Which handler runs each command type, for handlers taking a `Ctx` and returning an `R`."""

    def __init__(self) -> None:
        # The command type is erased here; `register` is the only way in, and it pairs each type with a
        # handler of that type, so `handler_for` hands a command only to a handler that accepts it.
        self._by_type: dict[type, Handler[Any, Ctx, R]] = {}

    def register(self, command_type: type[Cmd], handler: Handler[Cmd, Ctx, R]) -> Handlers[Ctx, R]:
        if command_type in self._by_type:
            raise ValueError(f"{command_type.__name__} already has a handler")
        self._by_type[command_type] = handler
        return self

    def handler_for(self, command: object) -> Handler[Any, Ctx, R]:
        handler = self._by_type.get(type(command))
        if handler is None:
            raise TypeError(f"no handler for {type(command).__name__}")
        return handler

    def __iter__(self) -> Iterator[type]:
        return iter(self._by_type)

    def __len__(self) -> int:
        return len(self._by_type)


class MessageBus(Generic[Ctx, R]):
    def __init__(self, context: Ctx, handlers: Handlers[Ctx, R], *, attempts: int = 3) -> None:
        self.context = context
        self.handlers = handlers
        self._attempts = attempts

    async def handle(self, command: object) -> R:
        handler = self.handlers.handler_for(command)
        for attempt in range(1, self._attempts + 1):
            try:
                return await handler(command, self.context)
            except ConcurrencyError:
                if attempt == self._attempts:
                    raise
        raise AssertionError("unreachable")
