"""`lfr bench <area> --json`: measured speed and memory, printed as JSON (keys are a contract)."""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Annotated, Any

import typer

bench_app = typer.Typer(help="Benchmarks; each prints JSON with stable keys.", no_args_is_help=True)

JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON (the default output is JSON too)")]


def _emit(result: dict[str, Any]) -> None:
    typer.echo(json.dumps(result, indent=2, sort_keys=True))


@bench_app.command("eventstore")
def eventstore(
    as_json: JsonFlag = True,
    postgres_url: Annotated[
        str | None, typer.Option(help="asyncpg URL of a PostgreSQL server to measure; omitted: try local")
    ] = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres",
    events: Annotated[int, typer.Option(help="events to append per backend")] = 20000,
    batch: Annotated[int, typer.Option(help="events per append")] = 100,
) -> None:
    """Appends per second on PostgreSQL and SQLite."""
    from lfr_platform.bench.eventstore import run_eventstore_bench

    with tempfile.TemporaryDirectory() as tmp:
        result = asyncio.run(
            run_eventstore_bench(postgres_url, Path(tmp) / "bench.db", events=events, batch=batch)
        )
    _emit(result)


@bench_app.command("inference")
def inference(
    as_json: JsonFlag = True,
    images: Annotated[Path | None, typer.Option(help="folder of face images (default: test images)")] = None,
) -> None:
    """Faces/s for detect+align+embed vs the face_recognition library; 1:N match time."""
    from lfr_inference.bench_inference import run_inference_bench

    _emit(run_inference_bench(images))


@bench_app.command("audit")
def audit(
    as_json: JsonFlag = True,
    entries: Annotated[int, typer.Option(help="ledger entries to append and verify")] = 1_000_000,
) -> None:
    """Ledger append rate and verification time."""
    from lfr_audit.bench import run_audit_bench

    _emit(run_audit_bench(entries))


@bench_app.command("ingest")
def ingest(
    as_json: JsonFlag = True,
    cameras: Annotated[int, typer.Option(help="simultaneous cameras")] = 4,
    seconds: Annotated[int, typer.Option(help="how long to stream")] = 60,
) -> None:
    """Frames published per second, CPU per camera, drops, memory at start and end, halt latency."""
    from lfr_ingest.bench import run_ingest_bench

    _emit(run_ingest_bench(cameras=cameras, seconds=seconds))


@bench_app.command("enrol")
def enrol(
    as_json: JsonFlag = True,
    entries: Annotated[int, typer.Option(help="watchlist entries to enrol")] = 1000,
) -> None:
    """Watchlist enrolment throughput (entries/s) through the watchlists service and inference Enrol."""
    from lfr_watchlists.bench import run_enrol_bench

    _emit(run_enrol_bench(entries=entries))


@bench_app.command("e2e")
def e2e(
    as_json: JsonFlag = True,
    gateway_url: Annotated[
        str | None, typer.Option(help="a running `lfr up` (default: start a private stack on free ports)")
    ] = None,
    data_dir: Annotated[Path, typer.Option(help="that stack's data directory")] = Path(".lfr"),
    samples: Annotated[int, typer.Option(help="alerts to time")] = 20,
) -> None:
    """Glass-to-alert latency (p50, p95) at 1 camera x 10 fps on the embedded stack."""
    from lfr_alerts.bench import run_e2e_bench

    from lfr_cli.demo import face_images
    from lfr_cli.identity import issue

    def measure(url: str, directory: Path) -> dict[str, Any]:
        def token_for(user: str, role: str) -> str:
            return str(issue(directory, user=user, role=role, ttl_minutes=60)["token"])

        return run_e2e_bench(url, directory, token_for, face_images(), samples=samples)

    if gateway_url is not None:
        _emit(measure(gateway_url, data_dir.resolve()))
        return
    from lfr_cli.stack import private_stack

    with tempfile.TemporaryDirectory() as tmp, private_stack(Path(tmp)) as stack:
        _emit(measure(stack.gateway_url, Path(tmp)))
