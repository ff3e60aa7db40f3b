"""Long-lived responses (Server-Sent Events) end when the server begins to stop.

uvicorn's graceful shutdown waits for every response in progress, and an event stream ends only when its
client goes away, which an open console never does: a service with a console attached would not finish
stopping (nor run its on-stop hooks) until it was killed. A stream checks `draining(request)` each time
round its loop and ends; the client's EventSource reconnects, to another replica, from its Last-Event-ID.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request


def start_draining(app: Any) -> None:
    """Call before telling the server to stop (`server.should_exit = True`)."""
    app.state.draining = True


def draining(request: Request) -> bool:
    return bool(getattr(request.app.state, "draining", False))
