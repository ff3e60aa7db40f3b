"""`serve` drains event streams on SIGTERM: a client that keeps a Server-Sent Events stream open (an
operator's console) does not hold the service's shutdown, and the stop hooks still run."""

import signal
import textwrap
import time

import httpx

from tests.fixtures.services import free_ports
from tests.integration.platform._service_process import service_process

SERVICE = textwrap.dedent(
    """
    import asyncio
    import sys

    from fastapi import FastAPI, Request
    from fastapi.responses import StreamingResponse
    from lfr_platform.http.draining import draining
    from lfr_platform.runtime import ServiceRuntime, serve

    app = FastAPI()


    @app.get("/stream")
    async def stream(request: Request) -> StreamingResponse:
        async def events():
            yield ": connected\\n\\n"
            while not draining(request) and not await request.is_disconnected():
                await asyncio.sleep(0.1)  # a real stream waits for its next event here
        return StreamingResponse(events(), media_type="text/event-stream")


    async def on_stop():
        print("stop hook ran", flush=True)


    runtime = ServiceRuntime(name="probe", app=app, on_stop=[on_stop])
    port = int(sys.argv[1])
    raise SystemExit(asyncio.run(serve(runtime, host="127.0.0.1", http_port=port, grpc_port=None)))
    """
)


def test_sigterm_ends_an_open_event_stream_and_the_service_stops() -> None:
    [port] = free_ports(1)
    with service_process(SERVICE, str(port)) as process:
        with httpx.Client(timeout=httpx.Timeout(10.0, read=None)) as client:
            for _ in range(200):  # the port answers once uvicorn listens
                try:
                    with client.stream("GET", f"http://127.0.0.1:{port}/stream") as response:
                        lines = response.iter_lines()
                        assert next(lines) == ": connected"
                        process.send_signal(signal.SIGTERM)
                        # Like a browser, never closed from this side. Ended by the server, the chunked
                        # body ends cleanly; cut off by uvicorn's shutdown timeout instead, reading it
                        # raises RemoteProtocolError (incomplete chunked read).
                        list(lines)
                    break
                except httpx.ConnectError:
                    assert process.poll() is None, process.communicate()[1]
                    time.sleep(0.05)  # polling the port: uvicorn exposes no "listening" event
        out, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    assert "stop hook ran" in out.splitlines(), out + errors
