"""Errors of the alerts service that are not domain rules."""

from __future__ import annotations

from lfr_platform.errors import LfrError


class ServiceUnavailable(LfrError):
    """A peer service this request depends on does not answer (HTTP 503); retrying later may work."""

    code = "service_unavailable"
    http_status = 503
