"""`lfr keys rotate`: rotate the master key that wraps every per-deployment data key.

Embedded default (no LFR_MASTER_KEY; the key is `<data-dir>/master.key`): a new key is written, the old
one is kept in `master.key.previous` while every data key is re-wrapped, then deleted. Stop `lfr up` first
(a running deployments service still holds the old key) and start it again afterwards.

With LFR_MASTER_KEY (and LFR_PREVIOUS_MASTER_KEYS) set, as on Kubernetes, the keys are yours to manage:
this re-wraps under LFR_MASTER_KEY, like `python -m lfr_deployments rotate-master-key`.

`--json` prints the summary with stable keys: ok, current_key_id, previous_key_ids, rewrapped,
already_current, destroyed_skipped, failed, failures[{deployment_id, data_class, reason}], key_source,
cameras_resealed (embedded: camera source URLs re-sealed by ingest's own code before the old key goes;
on Kubernetes ingest does it when it restarts with LFR_PREVIOUS_MASTER_KEYS).
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

keys_app = typer.Typer(help="Master-key rotation of the per-deployment data keys.")


@keys_app.callback()
def _keys() -> None:
    """Key management."""


@keys_app.command()
def rotate(
    actor: Annotated[str, typer.Option(help="who rotates (recorded in the audit trail)")],
    data_dir: Annotated[Path, typer.Option(help="the embedded stack's data directory")] = Path(".lfr"),
    reason: Annotated[str, typer.Option(help="why (scheduled, suspected compromise, ...)")] = "",
    database_url: Annotated[
        str | None, typer.Option(help="the deployments database (default: <data-dir>/deployments.db)")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, help="keys read per query")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable summary")] = False,
) -> None:
    """Re-wrap every data key under a new master key (embedded) or LFR_MASTER_KEY. Exit 1 if any failed."""
    from lfr_deployments.bootstrap import rotate_master_key
    from lfr_deployments.settings import DeploymentsSettings
    from lfr_platform.key_rotation import begin_dev_rotation, finish_dev_rotation
    from lfr_platform.settings import ConfigurationError
    from lfr_platform.telemetry import configure_logging

    if not actor.strip():
        raise typer.BadParameter("--actor must name a person")
    overrides: dict[str, Any] = {"data_dir": data_dir}
    if database_url is not None:
        overrides["database_url"] = database_url
    try:
        settings = DeploymentsSettings.load(**overrides)
    except ConfigurationError as error:
        typer.echo(str(error), err=True)
        raise typer.Exit(2) from None
    configure_logging(settings.service, "WARNING", stream=sys.stderr)  # stdout is the summary
    embedded = settings.uses_dev_master_key
    if embedded:
        settings.master_key_bytes()  # a fresh data dir gets its first key, then rotates it
        begin_dev_rotation(settings.data_dir)
    report = asyncio.run(
        rotate_master_key(settings, actor=actor.strip(), reason=reason, batch_size=batch_size)
    )
    resealed: list[str] = []
    if embedded and report.ok:
        resealed = asyncio.run(_reseal_cameras(settings.data_dir))
        finish_dev_rotation(settings.data_dir)  # nothing is left under the old key: destroy it
    summary = {
        **report.as_dict(),
        "key_source": "data_dir" if embedded else "environment",
        "cameras_resealed": len(resealed),
    }
    if as_json:
        typer.echo(json.dumps(summary, sort_keys=True))
    else:
        typer.echo(
            f"master key {report.current_key_id}: rewrapped {report.rewrapped}, already current "
            f"{report.already_current}, destroyed (skipped) {report.destroyed_skipped}, "
            f"failed {report.failed}"
        )
        for failure in report.failures:
            typer.echo(f"  {failure.deployment_id}/{failure.data_class}: {failure.reason}")
        if embedded and not report.ok:
            typer.echo(
                f"  the old key stays in {settings.data_dir}/master.key.previous; run again once fixed"
            )
    raise typer.Exit(0 if report.ok else 1)


async def _reseal_cameras(data_dir: Path) -> list[str]:
    from lfr_ingest.bootstrap import reseal_camera_sources
    from lfr_ingest.settings import IngestSettings

    return await reseal_camera_sources(IngestSettings.load(data_dir=data_dir))
