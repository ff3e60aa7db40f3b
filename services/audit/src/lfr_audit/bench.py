"""`lfr bench audit --json`: ledger append rates and the time to verify a 1,000,000-entry export.

Synthetic entries look like real envelopes (ids, references, actor/role, a score) so canonical bytes are
of realistic size (~450 bytes). Verification is timed end to end: reading the JSON Lines file from disk,
parsing every line, recomputing the chain and RFC 6962 roots, checking the signed tree heads.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lfr_audit.adapters.export import iter_entries
from lfr_audit.adapters.ledger_engine import create_ledger_engine
from lfr_audit.adapters.ledger_sql import SqlLedger
from lfr_audit.domain.canonical import LedgerEntry, format_time
from lfr_audit.domain.export import encode_record, encode_tree_heads
from lfr_audit.domain.ledger import Ledger
from lfr_audit.domain.tree_head import SignedTreeHead, TreeHeadSigner
from lfr_audit.domain.verify import verify_export

_SERVICES = ("deployments", "watchlists", "inference", "ingest", "alerts", "retention")
_START = datetime(2026, 1, 1, tzinfo=UTC)
_CHUNK = 10_000


def synthetic_entries(start: int, stop: int) -> Iterator[LedgerEntry]:
    for i in range(start, stop):
        service = _SERVICES[i % 6]
        moment = format_time(_START + timedelta(milliseconds=i * 37))
        yield LedgerEntry(
            source_service=service,
            event_id=str(UUID(int=(i * 0x9E3779B97F4A7C15) & ((1 << 128) - 1))),
            stream_id=f"{service}-{i % 997}",
            stream_type=service.capitalize(),
            version=i // 997 + 1,
            source_position=i // 6 + 1,
            event_type="FaceMatched" if service == "inference" else "StateChanged",
            schema_version=1,
            data={
                "deployment_id": f"dep-{i % 13}",
                "crop_blob_id": f"blob-{i:012d}",
                "score": 0.6 + (i % 400) / 1000,
                "track": i % 5000,
            },
            metadata={
                "actor": f"officer-{i % 41}",
                "role": "operator",
                "correlation_id": f"req-{i:010d}",
                "causation_id": None,
                "traceparent": None,
                "tracestate": None,
            },
            occurred_at=moment,
            recorded_at=moment,
        )


def _domain_append_and_export(
    n: int, export_path: Path, signer: TreeHeadSigner
) -> tuple[float, list[SignedTreeHead]]:
    ledger = Ledger()
    append_seconds = 0.0
    heads: list[SignedTreeHead] = []
    strict_sample = min(n, 100_000)
    with export_path.open("wb", buffering=1 << 20) as out:
        for start in range(0, n, _CHUNK):
            entries = list(synthetic_entries(start, min(n, start + _CHUNK)))
            began = time.perf_counter()
            records = [ledger.append(entry) for entry in entries]
            append_seconds += time.perf_counter() - began
            out.writelines(encode_record(record) for record in records)
            if ledger.size == strict_sample and strict_sample < n:
                heads.append(signer.sign(ledger.size, ledger.tree.root(), ledger.head_hash, _START))
    heads.append(signer.sign(ledger.size, ledger.tree.root(), ledger.head_hash, _START))
    return append_seconds, heads


async def _sql_append(url: str, batched: int, single: int) -> tuple[float, float]:
    engine = create_ledger_engine(url)  # the service's engine: WAL, synchronous=NORMAL
    try:
        ledger = SqlLedger(engine)
        await ledger.open()
        batch = 1000
        began = time.perf_counter()
        for start in range(0, batched, batch):
            await ledger.append_entries(list(synthetic_entries(start, min(batched, start + batch))))
        batched_seconds = time.perf_counter() - began
        began = time.perf_counter()
        for entry in synthetic_entries(batched, batched + single):
            await ledger.append_entries([entry])
        single_seconds = time.perf_counter() - began
    finally:
        await engine.dispose()
    return batched / batched_seconds, single / single_seconds


def run_audit_bench(n: int = 1_000_000, sql_entries: int = 50_000, sql_single: int = 1_000) -> dict[str, Any]:
    signer = TreeHeadSigner(Ed25519PrivateKey.generate())
    with tempfile.TemporaryDirectory(prefix="lfr-audit-bench-") as folder:
        export_path = Path(folder) / "ledger.jsonl"
        append_seconds, heads = _domain_append_and_export(n, export_path, signer)
        (Path(folder) / "sth.json").write_bytes(encode_tree_heads(heads))
        export_bytes = os.path.getsize(export_path)

        began, began_cpu = time.perf_counter(), time.process_time()
        report = verify_export(iter_entries(export_path), heads, signer.public_key, strict=False)
        verify_seconds = time.perf_counter() - began
        verify_cpu_seconds = time.process_time() - began_cpu

        # Strict mode (re-canonicalising every entry) on the first tree head's prefix.
        sample = heads[0]
        began = time.perf_counter()
        strict = verify_export(_first(iter_entries(export_path), sample.tree_size), [sample],
                               signer.public_key, strict=True)  # fmt: skip
        strict_seconds = time.perf_counter() - began

        sql_url = f"sqlite+aiosqlite:///{Path(folder) / 'audit.db'}"
        sql_batched = min(n, sql_entries)
        append_sql_per_s, append_sql_single_per_s = asyncio.run(_sql_append(sql_url, sql_batched, sql_single))
    return {
        "append_entries": n,
        "append_per_s": round(n / append_seconds, 1),
        "append_sql_per_s": round(append_sql_per_s, 1),
        "append_sql_entries": sql_batched,
        "append_sql_batch": 1000,
        "append_sql_single_per_s": round(append_sql_single_per_s, 1),
        "export_bytes": export_bytes,
        "verify_entries": report.entries,
        "verify_ok": report.ok,
        "verify_seconds": round(verify_seconds, 2),
        "verify_per_s": round(report.entries / verify_seconds, 1),
        "verify_cpu_seconds": round(verify_cpu_seconds, 2),
        "verify_mode": "committed-bytes (chain, RFC 6962 roots, signatures)",
        "verify_strict_entries": strict.entries,
        "verify_strict_ok": strict.ok,
        "verify_strict_seconds": round(strict_seconds, 2),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "target_verify_seconds": 60,
    }


def _first(entries: Iterator[Any], count: int) -> Iterator[Any]:
    for index, entry in enumerate(entries):
        if index >= count:
            return
        yield entry
