"""A minimal in-process ASGI client for the security tests.

httpx's ASGITransport waits for the whole response body, so a permitted call to a Server-Sent Events
endpoint (alerts or audit live streams) would never return. This driver returns as soon as the answer is
known: the full body of an ordinary response, or only the status line of an event stream. It also sends a
request body in chunks (no Content-Length unless given), which is how a 50 MB upload reaches a server.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

CHUNK = 1024 * 1024
ANSWER_WITHIN_S = 60.0  # bounds a hang only (a stuck handler fails the test instead of freezing it)


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def is_event_stream(self) -> bool:
        return self.headers.get("content-type", "").startswith("text/event-stream")


def _chunks(body: bytes | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(body, bytes | bytearray):
        for start in range(0, max(len(body), 1), CHUNK):
            yield bytes(body[start : start + CHUNK])
    else:
        yield from body


async def request(
    app: Any,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: bytes | Iterable[bytes] = b"",
    query: dict[str, Any] | None = None,
    state: dict[str, Any] | None = None,
) -> Reply:
    pending = _chunks(body)
    next_chunk: bytes | None = next(pending, b"")
    finished = asyncio.Event()
    start: dict[str, Any] = {}
    parts: list[bytes] = []

    async def receive() -> dict[str, Any]:
        nonlocal next_chunk
        if next_chunk is not None:
            chunk, next_chunk = next_chunk, next(pending, None)
            return {"type": "http.request", "body": chunk, "more_body": next_chunk is not None}
        await finished.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            start.update(message)
            if _decoded(message).get("content-type", "").startswith("text/event-stream"):
                finished.set()  # the status is all a permission check needs from a live stream
        elif message["type"] == "http.response.body":
            parts.append(message.get("body", b""))
            if not message.get("more_body", False):
                finished.set()

    raw_headers = [(k.lower().encode(), v.encode("latin-1")) for k, v in (headers or {}).items()]
    raw_headers.append((b"host", b"security-test"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method.upper(),
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode(query or {}, doseq=True).encode(),
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("security-test", 80),
        "state": dict(state or {}),
    }
    task = asyncio.create_task(app(scope, receive, send))
    waiter = asyncio.create_task(finished.wait())
    await asyncio.wait({task, waiter}, timeout=ANSWER_WITHIN_S, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if task.done():
        task.result()  # an exception escaping every middleware is itself a finding
    else:
        finished.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    if not start:
        raise AssertionError(f"{method} {path}: no response within {ANSWER_WITHIN_S:g} s")
    return Reply(start["status"], _decoded(start), b"".join(parts))


def _decoded(start: dict[str, Any]) -> dict[str, str]:
    return {bytes(k).decode().lower(): bytes(v).decode("latin-1") for k, v in start.get("headers", [])}
