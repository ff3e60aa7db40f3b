"""Run an app under uvicorn with the platform's JSON logging (what each service's __main__ calls)."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from lfr_platform.settings import ServiceSettings
from lfr_platform.telemetry import configure_logging


def build_server(app: FastAPI, settings: ServiceSettings, *, port: int | None = None) -> uvicorn.Server:
    """A uvicorn server with our JSON logs (uvicorn's own logging config is disabled).

    `await server.serve()` runs it inside an existing event loop (e.g. next to a gRPC server);
    `server.should_exit = True` stops it gracefully.
    """
    configure_logging(settings.service, settings.log_level)
    config = uvicorn.Config(
        app,
        host=settings.http_host,
        port=settings.http_port if port is None else port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
        lifespan="on",
    )
    return uvicorn.Server(config)


def serve(app: FastAPI, settings: ServiceSettings) -> None:
    """Blocking: run until SIGINT/SIGTERM."""
    build_server(app, settings).run()
