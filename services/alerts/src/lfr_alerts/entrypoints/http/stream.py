"""`GET /api/v1/alerts/stream`: live alerts as Server-Sent Events.

Why a token in the query string: the browser's `EventSource` cannot set an Authorization header, so this
one endpoint also accepts `?access_token=`. Tokens in URLs can end up in logs, browser history and Referer
headers; here no access log is written (services and gateway run with access logs off), the response
sets `Referrer-Policy: no-referrer` and `Cache-Control: no-store`, the stream carries no images (alerts.read
only), and every other endpoint refuses query tokens. Use short-lived tokens for consoles.

Events: `event: alert`, `id: <event-store position>`, `data: {"event_type", "position", "alert": view}`.
A reconnecting EventSource sends `Last-Event-ID`; delivery resumes after it (`?after=` does the same).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from lfr_platform.auth import Principal, authenticate
from lfr_platform.auth.dependencies import PERMISSION_ATTRIBUTE
from lfr_platform.auth.policy import permission
from lfr_platform.errors import Forbidden
from lfr_platform.eventstore import EventStore
from lfr_platform.http.draining import draining

from lfr_alerts.adapters.views_sql import SqlAlertViews
from lfr_alerts.app.changes import ChangeSignal

READ = permission("alerts.read")
_bearer = HTTPBearer(auto_error=False, description="JWT; or ?access_token= on this endpoint only")


async def stream_principal(
    request: Request,
    credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    access_token: Annotated[
        str | None, Query(description="bearer token, for EventSource clients that cannot set headers")
    ] = None,
) -> Principal:
    if (credentials is None or not credentials.credentials) and access_token:
        credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=access_token)
    principal = await authenticate(request, credentials)
    if principal.role not in READ.roles:
        raise Forbidden(
            f"role {principal.role.value!r} lacks permission {READ.name!r}",
            details={"permission": READ.name, "role": principal.role.value},
        )
    return principal


setattr(stream_principal, PERMISSION_ATTRIBUTE, READ.name)


def resume_position(after: int | None, last_event_id: str | None) -> int | None:
    if after is not None:
        return after
    if last_event_id is not None and last_event_id.strip().isdigit():
        return int(last_event_id)
    return None


async def alert_events(
    request: Request,
    reader: EventStore,
    views: SqlAlertViews,
    changes: ChangeSignal,
    *,
    start: int | None,
    deployment_id: str | None,
    heartbeat_seconds: float,
    poll_seconds: float,
) -> AsyncIterator[str]:
    position = start if start is not None else await reader.last_position()
    yield f"retry: 2000\n: connected at position {position}\n\n"
    idle = 0.0
    while not draining(request) and not await request.is_disconnected():
        batch = await reader.read_all(after_position=position, limit=200, stream_type="alert")
        if batch:
            idle = 0.0
            current = await views.get_many(sorted({event.stream_id for event in batch}))
            for event in batch:
                position = event.position
                view = current.get(event.stream_id)
                if view is None or (deployment_id and view["deployment_id"] != deployment_id):
                    continue
                body: dict[str, Any] = {"event_type": event.event_type, "position": position, "alert": view}
                yield f"id: {position}\nevent: alert\ndata: {json.dumps(body)}\n\n"
            continue
        await changes.wait(poll_seconds)
        idle += poll_seconds
        if idle >= heartbeat_seconds:
            idle = 0.0
            yield ": heartbeat\n\n"


LastEventId = Annotated[str | None, Header(alias="Last-Event-ID")]
