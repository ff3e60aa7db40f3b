"""Turns a source failure into a stable code and a message safe to show and record.

FFmpeg's exception text quotes the URL it opened (credentials included), so messages are built from the
exception type and FFmpeg's `strerror` only, never from `str(error)`."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import av
from lfr_platform.errors import DomainRuleViolation


class SourceError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Failure:
    code: str
    message: str


def classify(error: BaseException) -> Failure:
    if isinstance(error, SourceError):
        return Failure(error.code, error.message)
    if isinstance(error, DomainRuleViolation):
        return Failure(error.code, error.message)
    if isinstance(error, av.error.HTTPUnauthorizedError | av.error.HTTPForbiddenError):
        return Failure("unauthorized", "the source refused the credentials (401/403)")
    if isinstance(error, av.error.HTTPNotFoundError):
        return Failure("not_found", "the source answered 404: no such stream")
    if isinstance(error, av.error.HTTPError):
        return Failure("source_http_error", f"the source answered with an HTTP error ({_strerror(error)})")
    if isinstance(error, av.error.DecoderNotFoundError):
        return Failure("unsupported_codec", "no decoder for the stream's codec")
    if isinstance(error, av.error.InvalidDataError | av.error.DemuxerNotFoundError):
        return Failure("corrupt_stream", "the stream or file is not valid video (corrupt or unknown format)")
    if isinstance(error, av.error.ExitError | TimeoutError | socket.timeout):
        return Failure("timeout", "the source did not answer in time")
    if isinstance(error, ConnectionRefusedError):
        return Failure("unreachable", "connection refused by the source host")
    if isinstance(error, socket.gaierror):
        return Failure("unreachable", "the source host name does not resolve")
    if isinstance(error, FileNotFoundError):
        return Failure("not_found", "the source file or stream does not exist")
    if isinstance(error, ConnectionError):
        return Failure("connection_lost", f"the connection to the source failed ({type(error).__name__})")
    if isinstance(error, av.error.FFmpegError):
        return Failure("source_error", f"the source failed: {_strerror(error)}")
    if isinstance(error, OSError):
        return Failure("unreachable", f"the source cannot be reached ({_strerror(error)})")
    return Failure("source_error", f"the source failed ({type(error).__name__})")


def _strerror(error: BaseException) -> str:
    text = getattr(error, "strerror", None)
    return str(text) if text else type(error).__name__
