"""The hash chain: entry_hash(n) = SHA-256(entry_hash(n-1) || canonical bytes(n)), from a fixed genesis.

Sequences are 0-based and equal the entry's Merkle leaf index, so "entry 41" is leaf 41 in every proof.
The chain makes any single edit visible at the first edited entry; the Merkle tree (whose leaves are the
same canonical bytes) makes signed tree heads and logarithmic proofs possible.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

# SHA-256 of a fixed, versioned label: a verifier needs nothing but this constant to start the chain.
GENESIS_HASH = hashlib.sha256(b"lfr-audit-ledger/genesis/v1").digest()


def chain_hash(previous: bytes, canonical: bytes) -> bytes:
    return hashlib.sha256(previous + canonical).digest()


@dataclass(frozen=True, kw_only=True)
class ChainLink:
    sequence: int
    previous_hash: bytes
    entry_hash: bytes


class HashChain:
    """The chain head: next sequence and last entry hash. Resumable from a stored head."""

    def __init__(self, next_sequence: int = 0, head_hash: bytes = GENESIS_HASH) -> None:
        if next_sequence < 0 or (next_sequence == 0 and head_hash != GENESIS_HASH):
            raise ValueError("an empty chain starts at the genesis hash")
        self._next_sequence = next_sequence
        self._head_hash = head_hash

    @property
    def next_sequence(self) -> int:
        return self._next_sequence

    @property
    def head_hash(self) -> bytes:
        return self._head_hash

    def link(self, canonical: bytes) -> ChainLink:
        """Append canonical bytes and return the new link."""
        previous = self._head_hash
        entry_hash = chain_hash(previous, canonical)
        link = ChainLink(sequence=self._next_sequence, previous_hash=previous, entry_hash=entry_hash)
        self._next_sequence += 1
        self._head_hash = entry_hash
        return link
