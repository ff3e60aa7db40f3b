"""`lfr retention scan` and `lfr retention run` (mounted by the lfr CLI)."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from lfr_platform.blobs import open_blob_store
from lfr_platform.clock import ManualClock, SystemClock, utc
from lfr_platform.settings import ConfigurationError
from lfr_platform.telemetry import configure_logging

from lfr_retention.adapters.scan import render, run_scan
from lfr_retention.app.enforcement import RunReport
from lfr_retention.domain.policy import PolicyError
from lfr_retention.settings import RetentionSettings

retention_app = typer.Typer(help="Retention enforcement and scans for biometric data past policy.")

DataDir = Annotated[Path | None, typer.Option(help="embedded data directory (default: LFR_DATA_DIR)")]
At = Annotated[str | None, typer.Option(help="evaluate the policy at this ISO-8601 UTC time (default now)")]
PolicyFile = Annotated[Path | None, typer.Option("--policy", help="retention policy YAML")]


@retention_app.callback()
def _retention() -> None:
    """Retention tools."""


def _settings(
    data_dir: Path | None, policy: Path | None, database_url: str | None = None
) -> RetentionSettings:
    # Field values for pydantic to validate, as from the environment.
    overrides: dict[str, Any] = {}
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    if policy is not None:
        overrides["retention_policy_file"] = policy
    if database_url is not None:
        overrides["database_url"] = database_url
    try:
        return RetentionSettings.load(**overrides)
    except ConfigurationError as error:  # e.g. a policy file that is not there: say so, no traceback
        raise typer.BadParameter(str(error)) from None


def _at(value: str | None) -> datetime:
    if value is None:
        return SystemClock().now()
    try:
        return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError as error:
        raise typer.BadParameter(f"--at {value!r}: {error}") from None


@retention_app.command()
def scan(
    data_dir: DataDir = None,
    at: At = None,
    policy: PolicyFile = None,
    database_url: Annotated[
        str | None, typer.Option(help="PostgreSQL server URL: scans databases lfr_<service> on it")
    ] = None,
    kafka: Annotated[str | None, typer.Option(help="Kafka bootstrap servers: also scan the topics")] = None,
    topic_prefix: Annotated[str, typer.Option(help="prefix of the topic names (isolated test runs)")] = "",
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Search databases, blob storage and Kafka for biometric data past policy. Exit 1 if any."""
    settings = _settings(data_dir, policy)
    try:
        retention_policy = settings.policy()
    except PolicyError as error:
        raise typer.BadParameter(str(error)) from None
    report = asyncio.run(
        run_scan(
            data_dir=settings.data_dir,
            policy=retention_policy,
            at=_at(at),
            database_url=database_url,
            blobs=open_blob_store(settings),
            kafka_bootstrap=kafka,
        )  # fmt: skip
    )
    typer.echo(json.dumps(report.as_dict(), sort_keys=True) if as_json else render(report))
    raise typer.Exit(0 if report.ok else 1)


@retention_app.command()
def run(
    data_dir: DataDir = None,
    at: At = None,
    policy: PolicyFile = None,
    database_url: Annotated[str | None, typer.Option(help="retention's database URL")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Enforce the policy once now (or --at): delete due blobs, destroy due keys, issue receipts."""
    from lfr_retention.bootstrap import build_components

    settings = _settings(data_dir, policy, database_url)
    moment = _at(at)
    configure_logging(settings.service, "WARNING", stream=sys.stderr)  # stdout is the report

    async def once() -> RunReport:
        parts = build_components(settings, clock=ManualClock(moment))
        await parts.start()
        try:
            return await parts.enforcer.run(moment)
        finally:
            close = getattr(parts.keys, "close", None)
            if close is not None:
                await close()
            await parts.kit.db.dispose()

    try:
        result = asyncio.run(once())
    except PolicyError as error:
        raise typer.BadParameter(str(error)) from None
    if as_json:
        typer.echo(json.dumps(result.as_dict(), sort_keys=True, default=str))
    else:
        typer.echo(f"due {result.due}, receipts issued {len(result.issued)}, failed {len(result.failed)}")
        for receipt in result.issued:
            typer.echo(f"  {receipt['data_class']!s:<16} {receipt['receipt_id']}")
    raise typer.Exit(0 if not result.failed else 1)
