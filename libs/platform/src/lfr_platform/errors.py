"""One error vocabulary for every service: a machine code plus a human message.

Entrypoints map these to HTTP/gRPC status codes; domain code raises them and never touches I/O.
"""

from __future__ import annotations

from typing import Any


class LfrError(Exception):
    """Base of every error the platform reports to a caller."""

    code: str = "error"
    http_status: int = 400

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}


class DomainRuleViolation(LfrError):
    """A governance or business rule refused the command (HTTP 422). `code` names the rule."""

    http_status = 422


class InvalidInput(LfrError):
    """The request itself is malformed (HTTP 400)."""

    code = "invalid_input"
    http_status = 400


class NotFound(LfrError):
    code = "not_found"
    http_status = 404


class Forbidden(LfrError):
    """Authenticated, but the role or person may not do this (HTTP 403)."""

    code = "forbidden"
    http_status = 403


class Unauthenticated(LfrError):
    code = "unauthenticated"
    http_status = 401


class ConcurrencyError(LfrError):
    """The stream moved on since it was read: expected version does not match (HTTP 409)."""

    code = "concurrency_conflict"
    http_status = 409

    def __init__(self, stream_id: str, expected: int, actual: int) -> None:
        super().__init__(
            f"stream {stream_id!r} is at version {actual}, expected {expected}; reload and retry",
            details={"stream_id": stream_id, "expected_version": expected, "actual_version": actual},
        )
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class DuplicateEventError(LfrError):
    """An event id was appended before: appending it again would duplicate an effect."""

    code = "duplicate_event"
    http_status = 409
