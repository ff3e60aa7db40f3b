"""The ledger in memory: canonical bytes -> hash chain -> Merkle tree, one global sequence.

Pure and synchronous; the SQL adapter persists what `append` returns and rebuilds this object at start.
Idempotency by (source_service, event_id) is the adapter's job (it owns the index over all history).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lfr_audit.domain.canonical import LedgerEntry
from lfr_audit.domain.chain import GENESIS_HASH, HashChain, chain_hash
from lfr_audit.domain.merkle import MerkleTree, leaf_hash


@dataclass(frozen=True, kw_only=True)
class LedgerRecord:
    """An entry as recorded: its sequence, the bytes committed to, and the two hashes over them."""

    sequence: int
    entry: LedgerEntry
    canonical: bytes
    entry_hash: bytes
    leaf_hash: bytes


class Ledger:
    def __init__(self) -> None:
        self._chain = HashChain()
        self._tree = MerkleTree()

    @classmethod
    def resume(cls, head_hash: bytes, leaf_hashes: Iterable[bytes]) -> Ledger:
        """Rebuild from stored leaf hashes (in sequence order) and the stored last entry hash."""
        ledger = cls()
        ledger._tree = MerkleTree(leaf_hashes)
        size = ledger._tree.size
        ledger._chain = HashChain(size, head_hash if size else GENESIS_HASH)
        return ledger

    @property
    def size(self) -> int:
        return self._tree.size

    @property
    def head_hash(self) -> bytes:
        return self._chain.head_hash

    @property
    def tree(self) -> MerkleTree:
        return self._tree

    def append(self, entry: LedgerEntry) -> LedgerRecord:
        records = self.prepare([entry])
        self.commit(records)
        return records[0]

    def prepare(self, entries: Iterable[LedgerEntry]) -> list[LedgerRecord]:
        """The records these entries would become, without changing the ledger.

        A persistent adapter writes them first and commits them here only once the database has, so a
        failed write never leaves memory ahead of storage.
        """
        sequence = self._chain.next_sequence
        previous = self._chain.head_hash
        records: list[LedgerRecord] = []
        for entry in entries:
            canonical = entry.canonical_bytes()
            entry_hash = chain_hash(previous, canonical)
            records.append(
                LedgerRecord(
                    sequence=sequence,
                    entry=entry,
                    canonical=canonical,
                    entry_hash=entry_hash,
                    leaf_hash=leaf_hash(canonical),
                )
            )
            sequence += 1
            previous = entry_hash
        return records

    def commit(self, records: Iterable[LedgerRecord]) -> None:
        for record in records:
            if record.sequence != self._chain.next_sequence:
                raise ValueError(f"record {record.sequence} is not next ({self._chain.next_sequence})")
            link = self._chain.link(record.canonical)
            if link.entry_hash != record.entry_hash:
                raise ValueError(f"record {record.sequence} was prepared against another chain head")
            self._tree.append_leaf_hash(record.leaf_hash)
