"""The correlation id of the current request or message, carried in a contextvar.

The HTTP middleware sets it from `X-Correlation-ID` (or mints one); command handlers copy
`current_correlation_id()` into event metadata; consumers re-enter it with `correlation_scope(...)` from
the event they handle, so one id threads a decision through every service and the audit ledger.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import structlog

HEADER = "X-Correlation-ID"
_VALID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_current: ContextVar[str | None] = ContextVar("lfr_correlation_id", default=None)


def new_correlation_id() -> str:
    return uuid.uuid4().hex


def accept_or_mint(candidate: str | None) -> str:
    """Use a caller's id if it is a sane token (it ends up in logs and events), otherwise mint one."""
    return candidate if candidate and _VALID.match(candidate) else new_correlation_id()


def current_correlation_id() -> str | None:
    return _current.get()


@contextmanager
def correlation_scope(correlation_id: str | None = None) -> Iterator[str]:
    value = accept_or_mint(correlation_id)
    token = _current.set(value)
    with structlog.contextvars.bound_contextvars(correlation_id=value):
        try:
            yield value
        finally:
            _current.reset(token)
