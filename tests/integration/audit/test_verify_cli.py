"""`lfr audit verify` offline and against an HTTP server speaking the audit export endpoints."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from lfr_audit.adapters.export import write_export
from lfr_audit.domain.export import encode_record, encode_tree_heads
from lfr_audit.verify_cli import audit_app
from typer.testing import CliRunner

from tests.unit.audit.factories import build_ledger

runner = CliRunner()


@pytest.fixture
def export_files(tmp_path: Path) -> tuple[Path, Path, Path]:
    records, heads, key = build_ledger(30, head_every=10)
    write_export(tmp_path / "ledger.jsonl", tmp_path / "sth.json", records, heads)
    (tmp_path / "audit.pub").write_text(key.public_key_pem())
    return tmp_path / "ledger.jsonl", tmp_path / "sth.json", tmp_path / "audit.pub"


def run_verify(*args: str) -> tuple[int, str]:
    result = runner.invoke(audit_app, ["verify", *args])
    return result.exit_code, result.output


def test_offline_verify_of_a_clean_export(export_files: tuple[Path, Path, Path]) -> None:
    export, heads, key = export_files
    code, output = run_verify("--export", str(export), "--tree-head", str(heads), "--public-key", str(key))
    assert code == 0, output
    assert output.startswith("OK: 30 entries; 3 signed tree head(s) verified")
    code, output = run_verify(
        "--export", str(export), "--tree-head", str(heads), "--public-key", str(key), "--json", "--strict"
    )
    body = json.loads(output)
    assert code == 0
    assert (body["ok"], body["entries"], body["tree_size"], body["first_bad"]) == (True, 30, 30, None)


def test_offline_verify_names_the_first_bad_entry_and_exits_1(export_files: tuple[Path, Path, Path]) -> None:
    export, heads, key = export_files
    lines = export.read_bytes().splitlines(keepends=True)
    export.write_bytes(b"".join(lines[:12] + lines[13:]))
    code, output = run_verify(
        "--export", str(export), "--tree-head", str(heads), "--public-key", str(key), "--json"
    )
    assert code == 1
    assert json.loads(output)["first_bad"]["sequence"] == 12
    assert json.loads(output)["first_bad"]["kind"] == "deleted"
    code, output = run_verify("--export", str(export), "--tree-head", str(heads), "--public-key", str(key))
    assert code == 1 and output.startswith("TAMPERED: first bad is entry 12 (deleted)")


def test_missing_arguments_are_a_usage_error() -> None:
    code, _ = run_verify("--json")
    assert code == 2


class _AuditExportServer(BaseHTTPRequestHandler):
    lines: list[bytes] = []
    heads_document = b""
    public_key_pem = ""
    seen_tokens: list[str | None] = []

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self.seen_tokens.append(self.headers.get("Authorization"))
        if self.path == "/api/v1/audit/export":
            body = b"".join(self.lines)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("X-Lfr-Tree-Size", str(len(self.lines)))
        elif self.path.startswith("/api/v1/audit/tree-heads?up_to="):
            body = self.heads_document
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
        elif self.path == "/api/v1/audit/public-key":
            body = self.public_key_pem.encode()
            self.send_response(200)
        else:
            body = b"{}"
            self.send_response(404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        return


@pytest.fixture
def audit_server() -> Iterator[str]:
    records, heads, key = build_ledger(25, head_every=10)
    _AuditExportServer.lines = [encode_record(record) for record in records]
    _AuditExportServer.heads_document = encode_tree_heads(heads)
    _AuditExportServer.public_key_pem = key.public_key_pem()
    _AuditExportServer.seen_tokens = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AuditExportServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_online_verify_against_the_export_endpoints(audit_server: str) -> None:
    code, output = run_verify("--url", audit_server, "--token", "t0k3n", "--json")
    assert code == 0, output
    assert json.loads(output)["entries"] == 25
    assert set(_AuditExportServer.seen_tokens) == {"Bearer t0k3n"}
    lines = _AuditExportServer.lines
    lines[4], lines[9] = lines[9], lines[4]
    code, output = run_verify("--url", audit_server, "--json")
    assert code == 1
    assert json.loads(output)["first_bad"] == {
        "sequence": 4,
        "kind": "reordered",
        "detail": json.loads(output)["first_bad"]["detail"],
    }
