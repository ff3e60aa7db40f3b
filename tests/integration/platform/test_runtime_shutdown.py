"""`serve` owns shutdown: SIGTERM to a real service process stops the HTTP server, cancels the background
tasks and runs the stop hooks, and the process exits 0 (uvicorn must not take the signal for itself)."""

import signal
import textwrap

from tests.integration.platform._service_process import service_process

SERVICE = textwrap.dedent(
    """
    import asyncio
    import contextlib

    from fastapi import FastAPI
    from lfr_platform.runtime import ServiceRuntime, serve


    def say(line):
        print(line, flush=True)


    @contextlib.asynccontextmanager
    async def lifespan(app):
        say("http started")
        yield
        say("http stopped")


    async def background():
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            say("background cancelled")
            raise


    async def on_stop():
        say("stop hook ran")


    runtime = ServiceRuntime(
        name="probe", app=FastAPI(lifespan=lifespan), background=[background], on_stop=[on_stop]
    )
    raise SystemExit(asyncio.run(serve(runtime, host="127.0.0.1", http_port=0, grpc_port=None)))
    """
)


def test_sigterm_stops_http_background_and_hooks_then_exits_zero() -> None:
    with service_process(SERVICE) as process:
        assert process.stdout is not None
        # Log lines come first; readline returns "" only when the process has died.
        line = "-"
        while line and line.strip() != "http started":
            line = process.stdout.readline()
        assert line, "the service process ended before its HTTP server started"
        process.send_signal(signal.SIGTERM)
        rest, errors = process.communicate(timeout=30)
    assert process.returncode == 0, errors
    said = [
        line
        for line in rest.splitlines()
        if line in {"http stopped", "background cancelled", "stop hook ran"}
    ]
    # HTTP and the background tasks stop together; the stop hooks run after both.
    assert sorted(said[:2]) == ["background cancelled", "http stopped"], rest + errors
    assert said[2:] == ["stop hook ran"], rest + errors
