"""Read side of the ledger for oversight: proofs, tree heads, live entries and server-side verification.
The HTTP routes only parse, authorise and call these."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lfr_platform.clock import Clock
from lfr_platform.errors import DomainRuleViolation, NotFound

from lfr_audit.adapters.export import iter_entries
from lfr_audit.adapters.ledger_sql import LedgerQuery, SqlLedger
from lfr_audit.domain.tree_head import SignedTreeHead, TreeHeadSigner
from lfr_audit.domain.verify import VerificationReport, verify_export


def verification_summary(report: VerificationReport) -> dict[str, Any]:
    """The JSON `lfr audit verify --json` prints (the CLI and the REST endpoint share it)."""
    body = report.as_dict()
    summary = {key: body[key] for key in ("ok", "entries", "tree_size", "first_bad")}
    return summary | {"verified_tree_heads": report.verified_tree_heads, "root_hash": report.root_hash}


@dataclass
class Oversight:
    ledger: SqlLedger
    signer: TreeHeadSigner
    clock: Clock

    async def sign_head(self) -> SignedTreeHead:
        return await self.ledger.sign_tree_head(self.signer, self.clock.now())

    async def sign_if_grown(self) -> SignedTreeHead | None:
        """The periodic signer: a new head only when the ledger grew since the last one."""
        latest = await self.ledger.latest_tree_head()
        if latest is not None and latest.tree_size == self.ledger.size:
            return None
        return await self.sign_head()

    async def head_covering(self, size: int) -> SignedTreeHead:
        """The smallest signed head covering `size` entries, or a fresh one."""
        head = await self.ledger.first_tree_head_covering(size)
        return head if head is not None else await self.sign_head()

    async def inclusion(self, sequence: int, tree_size: int | None) -> dict[str, Any]:
        row = await self.ledger.entry(sequence)
        if row is None:
            raise NotFound(f"no ledger entry {sequence}", code="entry_not_found")
        head = await self.head_covering(sequence + 1) if tree_size is None else None
        size = head.tree_size if head is not None else tree_size
        assert size is not None
        if not sequence < size <= self.ledger.size:
            raise DomainRuleViolation(
                f"tree size must be above {sequence} and at most {self.ledger.size}", code="tree_size_invalid"
            )
        tree = self.ledger.ledger.tree
        return {
            "sequence": sequence,
            "tree_size": size,
            "entry_hash": row.entry_hash,
            "leaf_hash": tree.leaf_hash_at(sequence).hex(),
            "root_hash": tree.root(size).hex(),
            "proof": [node.hex() for node in self.ledger.inclusion_proof(sequence, size)],
            "tree_head": head.as_dict() if head is not None else None,
        }

    def consistency(self, first: int, second: int | None) -> dict[str, Any]:
        second = self.ledger.size if second is None else second
        if not 0 < first <= second <= self.ledger.size:
            raise DomainRuleViolation(
                f"need 0 < first <= second <= {self.ledger.size}", code="tree_size_invalid"
            )
        tree = self.ledger.ledger.tree
        return {
            "first": first,
            "second": second,
            "first_root": tree.root(first).hex(),
            "second_root": tree.root(second).hex(),
            "proof": [node.hex() for node in self.ledger.consistency_proof(first, second)],
        }

    async def verify(self) -> dict[str, Any]:
        """Sign a fresh head, export to a temporary file and verify it exactly as the CLI does."""
        head = await self.sign_head()
        heads = await self.ledger.tree_heads(head.tree_size)
        with tempfile.TemporaryDirectory(prefix="lfr-audit-verify-") as folder:
            path = Path(folder) / "ledger.jsonl"
            with path.open("wb", buffering=1 << 20) as out:
                async for line in self.ledger.export_lines(head.tree_size):
                    out.write(line)
            report = await asyncio.to_thread(
                verify_export, iter_entries(path), heads, self.signer.public_key, strict=False
            )
        return verification_summary(report)

    async def live(
        self, criteria: LedgerQuery, after: int, heartbeat: float, stop: asyncio.Event | None = None
    ) -> AsyncIterator[str]:
        """Server-Sent Events: each new matching entry (id = its sequence), a comment as heartbeat."""
        yield ": lfr audit stream\nretry: 2000\n\n"
        position = after
        while stop is None or not stop.is_set():
            size = self.ledger.size  # before the query: growth after it wakes the wait below at once
            page = await self.ledger.query(criteria, after=position, limit=500)
            for row in page.rows:
                position = row.sequence
                yield f"id: {row.sequence}\nevent: entry\ndata: {json.dumps(row.as_dict())}\n\n"
            if page.next_after is not None:
                continue
            position = max(position, size - 1)  # nothing else up to here matched
            try:
                async with asyncio.timeout(heartbeat):
                    await self.ledger.wait_for_growth(size)
            except TimeoutError:
                yield ": heartbeat\n\n"
