"""`lfr`: the platform's one front door.

JSON printed by `--json` options is a contract other tools read: keys are stable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from lfr_cli import bench, up

app = typer.Typer(help="Live Facial Recognition platform under written governance.", no_args_is_help=True)
app.command("up")(up.up)
app.add_typer(bench.bench_app, name="bench")


def _mount_optional(name: str, module: str, attr: str, help_text: str) -> None:
    """Sub-apps owned by services; the CLI still starts (and says what is missing) if one is absent."""
    try:
        sub = getattr(__import__(module, fromlist=[attr]), attr)
    except (ImportError, AttributeError) as exc:
        reason = str(exc)
        missing = typer.Typer(help=f"{help_text} (unavailable: {reason})")

        @missing.callback(invoke_without_command=True)
        def _unavailable() -> None:
            typer.echo(f"lfr {name}: not available in this installation ({reason})", err=True)
            raise typer.Exit(2)

        app.add_typer(missing, name=name)
        return
    app.add_typer(sub, name=name, help=help_text)


_mount_optional(
    "eval", "lfr_inference.eval.cli", "eval_app", "Accuracy evaluation (LFW protocol, open-set 1:N)."
)
_mount_optional("audit", "lfr_audit.verify_cli", "audit_app", "Verify and export the audit ledger.")
_mount_optional("retention", "lfr_retention.cli", "retention_app", "Retention enforcement and scans.")
_mount_optional("demo", "lfr_cli.demo", "demo_app", "Run the end-to-end demonstration.")
_mount_optional("keys", "lfr_cli.keys", "keys_app", "Master-key rotation of the per-deployment data keys.")


@app.command()
def token(
    user: Annotated[str, typer.Option(help="the person the token identifies")],
    role: Annotated[str, typer.Option(help="one of the platform roles")],
    data_dir: Annotated[Path, typer.Option(help="the embedded stack's data directory")] = Path(".lfr"),
    ttl_minutes: Annotated[int, typer.Option(help="lifetime of the token")] = 480,
    as_json: Annotated[bool, typer.Option("--json", help="print {token, user, role, expires_at}")] = False,
) -> None:
    """Issue a bearer token from the embedded development identity provider."""
    from lfr_cli.identity import issue

    issued = issue(data_dir, user=user, role=role, ttl_minutes=ttl_minutes)
    if as_json:
        typer.echo(json.dumps(issued))
    else:
        typer.echo(issued["token"])


if __name__ == "__main__":
    app()
