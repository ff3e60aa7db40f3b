"""`lfr audit verify`: check an audit export offline, or the running service's export over HTTP.

Offline:  lfr audit verify --export ledger.jsonl --tree-head sth.json --public-key audit.pub
Online:   lfr audit verify --url http://127.0.0.1:8000 --token $TOKEN [--public-key audit.pub]

Online, the CLI downloads `GET /api/v1/audit/export` (JSON Lines; the service signs a fresh tree head
for it and names its size in the `X-Lfr-Tree-Size` header), then `GET /api/v1/audit/tree-heads?up_to=N`,
and, only when no --public-key is given, `GET /api/v1/audit/public-key` (PEM): a key fetched from the
service under test is only as trustworthy as that channel, so oversight should pin the key it holds.

Exit codes: 0 verified, 1 tampered (the first bad entry is named), 2 unusable input.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Annotated

import httpx
import typer

from lfr_audit.adapters.export import iter_entries
from lfr_audit.app.oversight import verification_summary
from lfr_audit.domain.export import decode_tree_heads
from lfr_audit.domain.tree_head import SignedTreeHead, load_public_key
from lfr_audit.domain.verify import VerificationReport, verify_export

audit_app = typer.Typer(help="Verify the audit ledger (hash chain, Merkle roots, signed tree heads).")

EXPORT_PATH = "/api/v1/audit/export"
TREE_HEADS_PATH = "/api/v1/audit/tree-heads"
PUBLIC_KEY_PATH = "/api/v1/audit/public-key"


@audit_app.callback()
def _audit() -> None:
    """Audit ledger tools."""


@audit_app.command()
def verify(
    export: Annotated[Path | None, typer.Option(help="JSON Lines export file")] = None,
    tree_head: Annotated[Path | None, typer.Option(help="signed tree head(s) JSON (side-car)")] = None,
    public_key: Annotated[
        Path | None, typer.Option(help="Ed25519 public key file (PEM, or raw 32 bytes as hex/base64)")
    ] = None,
    url: Annotated[
        str | None, typer.Option(help="base URL of the platform, e.g. http://127.0.0.1:8000")
    ] = None,
    token: Annotated[str | None, typer.Option(envvar="LFR_TOKEN", help="bearer token for --url")] = None,
    strict: Annotated[bool, typer.Option(help="also re-canonicalise every entry (slower)")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Recompute everything and name the first bad entry on any alteration, deletion, reorder or insertion."""
    key_text = public_key.read_text() if public_key is not None else None
    if url is not None:
        with tempfile.TemporaryDirectory(prefix="lfr-audit-verify-") as folder:
            export_file, heads, fetched_key = _download(url, token, Path(folder), need_key=key_text is None)
            key_text = key_text or fetched_key
            report = _verify(export_file, heads, key_text, strict)
    else:
        if export is None or tree_head is None or key_text is None:
            raise typer.BadParameter("give --export, --tree-head and --public-key, or --url")
        try:
            heads = decode_tree_heads(tree_head.read_bytes())
        except (ValueError, KeyError, TypeError) as exc:
            raise typer.BadParameter(f"unreadable tree head document: {exc}") from exc
        report = _verify(export, heads, key_text, strict)
    _print(report, as_json)
    raise typer.Exit(0 if report.ok else 1)


def _verify(
    export: Path, heads: list[SignedTreeHead], key_text: str | None, strict: bool
) -> VerificationReport:
    if key_text is None:
        raise typer.BadParameter("no public key")
    try:
        key = load_public_key(key_text)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    if not export.is_file():
        raise typer.BadParameter(f"no such export file: {export}")
    return verify_export(iter_entries(export), heads, key, strict=strict)


def _download(
    url: str, token: str | None, folder: Path, *, need_key: bool
) -> tuple[Path, list[SignedTreeHead], str | None]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    export_file = folder / "ledger.jsonl"
    try:
        with httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=60.0) as client:
            with client.stream("GET", EXPORT_PATH) as response:
                response.raise_for_status()
                tree_size = response.headers.get("X-Lfr-Tree-Size")
                with export_file.open("wb") as out:
                    for chunk in response.iter_bytes():
                        out.write(chunk)
            params = {"up_to": tree_size} if tree_size is not None else {}
            heads_response = client.get(TREE_HEADS_PATH, params=params)
            heads_response.raise_for_status()
            heads = decode_tree_heads(heads_response.content)
            key_text = None
            if need_key:
                key_response = client.get(PUBLIC_KEY_PATH)
                key_response.raise_for_status()
                key_text = key_response.text
    except httpx.HTTPError as exc:
        raise typer.BadParameter(f"could not fetch the export from {url}: {exc}") from exc
    except (ValueError, KeyError, TypeError) as exc:
        raise typer.BadParameter(f"the service sent an unreadable tree head document: {exc}") from exc
    return export_file, heads, key_text


def _print(report: VerificationReport, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(verification_summary(report)))
        return
    if report.ok:
        typer.echo(
            f"OK: {report.entries:,} entries; {report.verified_tree_heads} signed tree head(s) verified; "
            f"tree size {report.tree_size:,}; root {report.root_hash}"
        )
        return
    bad = report.first_bad
    assert bad is not None
    where = f"entry {bad.sequence}" if bad.sequence is not None else "the signed tree heads"
    typer.echo(f"TAMPERED: first bad is {where} ({bad.kind}): {bad.detail}")
    typer.echo(f"{report.entries:,} lines read; signed tree size {report.tree_size:,}")
