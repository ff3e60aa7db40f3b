"""`lfr up`: the whole platform on this machine, no docker, no external services."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from lfr_cli.stack import Stack, StackConfig
from lfr_cli.topology import shifted


def up(
    data_dir: Annotated[Path, typer.Option(help="where SQLite files, blobs, keys and logs live")] = Path(
        ".lfr"
    ),
    database_url: Annotated[
        str | None,
        typer.Option(help="external PostgreSQL (postgresql+asyncpg://...); one database per service"),
    ] = None,
    kafka: Annotated[str | None, typer.Option(help="external Kafka bootstrap servers (host:port)")] = None,
    port: Annotated[int, typer.Option(help="the gateway's port on 127.0.0.1")] = 8000,
    broker_port: Annotated[int, typer.Option(help="the embedded broker's port")] = 19092,
    ready_timeout: Annotated[float, typer.Option(help="seconds to wait for every service")] = 60.0,
    port_offset: Annotated[
        int, typer.Option(help="move every service's HTTP and gRPC port (81xx/91xx) by this much")
    ] = 0,
) -> None:
    """Start every service, the embedded broker and the web console on http://127.0.0.1:PORT."""
    config = StackConfig(
        data_dir=data_dir.resolve(),
        database_url=database_url,
        kafka_bootstrap=kafka,
        gateway_port=port,
        broker_port=broker_port,
        services=shifted(port_offset),
    )
    stack = Stack(config)
    stopping = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.set())
    started = time.monotonic()
    try:
        stack.start()
        ready = stack.wait_ready(ready_timeout, stopping)
        if stopping.is_set():
            return
        not_ready = [name for name, ok in ready.items() if not ok]
        if not_ready:
            typer.echo(
                f"not ready after {ready_timeout:.0f}s: {', '.join(not_ready)} (logs in {data_dir / 'logs'})",
                err=True,
            )
            raise typer.Exit(1)
        typer.echo(f"LFR platform ready in {time.monotonic() - started:.1f}s")
        typer.echo(f"  console   {stack.gateway_url}/")
        typer.echo(f"  REST      {stack.gateway_url}/api/v1/<service>/...")
        typer.echo(f"  broker    {stack.bootstrap}")
        typer.echo(f"  data      {config.data_dir}")
        typer.echo("  token     lfr token --user NAME --role ROLE")
        typer.echo("Press Ctrl-C to stop.")
        while not stopping.wait(0.5):
            for name, proc in stack.processes.items():
                if proc.poll() is not None:
                    typer.echo(f"{name} exited with code {proc.returncode}; stopping", err=True)
                    stopping.set()
    finally:
        typer.echo("stopping...")
        stack.stop()
        typer.echo("stopped")
