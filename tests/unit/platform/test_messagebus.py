"""The message bus: each command reaches the one handler registered for its type, a concurrency conflict
is retried a bounded number of times, and mypy rejects a handler registered for the wrong command."""

from __future__ import annotations

import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from lfr_platform.errors import ConcurrencyError
from lfr_platform.messagebus import Handlers, MessageBus
from mypy import api as mypy_api


@dataclass(frozen=True)
class Rename:
    name: str


@dataclass(frozen=True)
class Delete:
    reason: str


@dataclass
class Context:
    log: list[str] = field(default_factory=list)
    conflicts_left: int = 0


async def rename(cmd: Rename, ctx: Context) -> str:
    if ctx.conflicts_left:
        ctx.conflicts_left -= 1
        ctx.log.append("conflict")
        raise ConcurrencyError("thing-1", expected=1, actual=2)
    ctx.log.append(f"renamed to {cmd.name}")
    return cmd.name


async def delete(cmd: Delete, ctx: Context) -> str:
    ctx.log.append(f"deleted: {cmd.reason}")
    return "deleted"


def handlers() -> Handlers[Context, str]:
    return Handlers[Context, str]().register(Rename, rename).register(Delete, delete)


async def test_each_command_reaches_the_handler_registered_for_its_type_with_the_context() -> None:
    bus = MessageBus(Context(), handlers())
    assert await bus.handle(Rename("new")) == "new"
    assert await bus.handle(Delete("done")) == "deleted"
    assert bus.context.log == ["renamed to new", "deleted: done"]
    assert set(bus.handlers) == {Rename, Delete} and len(bus.handlers) == 2


async def test_a_command_without_a_handler_is_refused_by_name() -> None:
    bus = MessageBus(Context(), Handlers[Context, str]().register(Rename, rename))
    with pytest.raises(TypeError, match="no handler for Delete"):
        await bus.handle(Delete("x"))


def test_a_second_handler_for_one_command_type_is_refused() -> None:
    with pytest.raises(ValueError, match="Rename already has a handler"):
        handlers().register(Rename, rename)


async def test_a_concurrency_conflict_is_retried_and_the_last_one_raised() -> None:
    retried = MessageBus(Context(conflicts_left=2), handlers(), attempts=3)
    assert await retried.handle(Rename("after two conflicts")) == "after two conflicts"
    assert retried.context.log == ["conflict", "conflict", "renamed to after two conflicts"]

    exhausted = MessageBus(Context(conflicts_left=3), handlers(), attempts=3)
    with pytest.raises(ConcurrencyError):
        await exhausted.handle(Rename("never"))
    assert exhausted.context.log == ["conflict"] * 3


def test_mypy_rejects_a_handler_registered_for_another_command_or_context_or_result(tmp_path: Path) -> None:
    module = tmp_path / "registrations.py"
    module.write_text(textwrap.dedent("""
        from lfr_platform.messagebus import Handlers

        class Rename: ...
        class Delete: ...

        async def rename(cmd: Rename, ctx: str) -> int:
            return 1

        async def rename_elsewhere(cmd: Rename, ctx: bytes) -> int:
            return 1

        async def rename_to_text(cmd: Rename, ctx: str) -> str:
            return ""

        Handlers[str, int]().register(Rename, rename)  # the one correct registration
        Handlers[str, int]().register(Delete, rename)
        Handlers[str, int]().register(Rename, rename_elsewhere)
        Handlers[str, int]().register(Rename, rename_to_text)
    """))
    report, _, status = mypy_api.run(["--strict", "--no-incremental", "--cache-dir", str(tmp_path / "cache"),
                                      str(module)])
    assert status == 1, report
    flagged = sorted(int(line.split(":")[1]) for line in report.splitlines() if ": error:" in line)
    assert flagged == [17, 18, 19], report
