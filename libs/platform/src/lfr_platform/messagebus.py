"""A small message bus: one handler per command type, retried when the stream moved on meanwhile.

Handlers re-read the aggregate on every attempt, so a retry re-checks every rule against the new state.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

from lfr_platform.errors import ConcurrencyError

C = TypeVar("C")
Handler = Callable[[Any, C], Awaitable[Any]]


class MessageBus(Generic[C]):
    def __init__(self, context: C, handlers: Mapping[type, Handler[C]], *, attempts: int = 3) -> None:
        self.context = context
        self.handlers = dict(handlers)
        self._attempts = attempts

    async def handle(self, command: object) -> Any:
        handler = self.handlers.get(type(command))
        if handler is None:
            raise TypeError(f"no handler for {type(command).__name__}")
        for attempt in range(1, self._attempts + 1):
            try:
                return await handler(command, self.context)
            except ConcurrencyError:
                if attempt == self._attempts:
                    raise
        raise AssertionError("unreachable")
