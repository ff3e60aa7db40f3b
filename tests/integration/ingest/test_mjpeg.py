"""HTTP MJPEG cameras (multipart/x-mixed-replace) from a real aiohttp server with basic auth."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator

import pytest
from aiohttp import BasicAuth, web
from lfr_ingest.adapters.publisher import frame_aad
from lfr_platform.crypto import open_
from PIL import Image

from tests.fixtures.waiting import wait_until

from ._harness import Harness

BOUNDARY = "lfrframe"


def jpeg(i: int, size: tuple[int, int] = (352, 288)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (i * 13 % 256, 120, 200)).save(out, format="JPEG", quality=80)
    return out.getvalue()


@pytest.fixture
async def mjpeg_server() -> AsyncIterator[str]:
    frames = [jpeg(i) for i in range(10)]
    stopping = asyncio.Event()

    async def stream(request: web.Request) -> web.StreamResponse:
        auth = request.headers.get("Authorization", "")
        if auth != BasicAuth("cam", "s3cret").encode():
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="cam"'})
        response = web.StreamResponse(
            headers={"Content-Type": f"multipart/x-mixed-replace; boundary={BOUNDARY}"}
        )
        await response.prepare(request)
        i = 0
        try:
            while not stopping.is_set():
                body = frames[i % len(frames)]
                await response.write(
                    f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\n".encode()
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                    + b"\r\n"
                )
                i += 1
                await asyncio.sleep(0.1)  # a 10 fps camera
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return response

    app = web.Application()
    app.router.add_get("/video.mjpg", stream)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"127.0.0.1:{port}"
    finally:
        stopping.set()  # end the endless responses, or cleanup waits for them
        await runner.cleanup()


async def test_mjpeg_over_http_with_and_without_the_right_credentials(
    ingest: Harness, mjpeg_server: str
) -> None:
    good = await ingest.register("mjpeg-1", f"http://cam:s3cret@{mjpeg_server}/video.mjpg", fps=4)
    bad = await ingest.register("mjpeg-2", f"http://cam:guess@{mjpeg_server}/video.mjpg", fps=4)
    assert good.status_code == bad.status_code == 201
    assert good.json()["source_url"] == f"http://***@{mjpeg_server}/video.mjpg"
    await ingest.go_live("dep-mjpeg", ["mjpeg-1", "mjpeg-2"])

    await wait_until(lambda: len(ingest.frames_of("mjpeg-1")) >= 3, "MJPEG frames published")
    record = ingest.frames_of("mjpeg-1")[-1]
    headers = {k: v.decode() for k, v in record.headers}
    key = await ingest.frames_key("dep-mjpeg")
    assert record.value is not None
    plain = open_(key, record.value, frame_aad("mjpeg-1", "dep-mjpeg", int(headers["capture_ns"])))
    with Image.open(io.BytesIO(plain)) as image:
        assert image.size == (352, 288)

    async def refused() -> bool:
        health = await ingest.health("mjpeg-2")
        return bool(health["last_error"]) and health["last_error"]["code"] == "unauthorized"

    await wait_until(refused, "the wrong credentials refused")
    assert ingest.frames_of("mjpeg-2") == []
