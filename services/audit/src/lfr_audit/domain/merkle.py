"""A Certificate-Transparency Merkle tree (RFC 6962 / RFC 9162 section 2.1) with proofs and verifiers.

Leaf hash = SHA-256(0x00 || leaf), interior node = SHA-256(0x01 || left || right), and MTH of n leaves
splits at k = the largest power of two smaller than n. The empty tree's hash is SHA-256("").

`MerkleTree` keeps every *complete* subtree hash, level by level, in flat `bytearray`s (32 bytes a node):
a perfect subtree never changes once its last leaf is appended, so appends are amortised O(1) hashes,
the root of any earlier size is O(log n), and inclusion/consistency proofs are read from the stored
levels. A million leaves take about 64 MB (leaves plus all levels above).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()

_sha256 = hashlib.sha256


def leaf_hash(leaf: bytes) -> bytes:
    return _sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """k with k < n <= 2k (n >= 2), the RFC's split point."""
    return 1 << ((n - 1).bit_length() - 1)


class ProofError(ValueError):
    """A proof was asked for sizes or indexes the tree cannot prove."""


class MerkleTree:
    """Append-only RFC 6962 tree over leaf hashes, storing all complete subtrees."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        # _levels[j] holds the hashes of the perfect subtrees of 2**j leaves, left to right.
        self._levels: list[bytearray] = [bytearray()]
        self._size = 0
        for hashed in leaf_hashes:
            self.append_leaf_hash(hashed)

    @property
    def size(self) -> int:
        return self._size

    def append_leaf(self, leaf: bytes) -> bytes:
        hashed = leaf_hash(leaf)
        self.append_leaf_hash(hashed)
        return hashed

    def append_leaf_hash(self, hashed: bytes) -> None:
        if len(hashed) != HASH_SIZE:
            raise ValueError("a leaf hash is 32 bytes")
        levels = self._levels
        levels[0] += hashed
        self._size += 1
        index = self._size  # number of nodes at the current level after the append
        level = 0
        # Each time the count at a level becomes even, the last two nodes complete a parent.
        while index & 1 == 0:
            row = levels[level]
            parent = _sha256(b"\x01" + row[-64:]).digest()
            level += 1
            if len(levels) == level:
                levels.append(bytearray())
            levels[level] += parent
            index >>= 1

    def leaf_hash_at(self, index: int) -> bytes:
        if not 0 <= index < self._size:
            raise ProofError(f"leaf {index} outside tree of size {self._size}")
        return bytes(self._levels[0][index * HASH_SIZE : (index + 1) * HASH_SIZE])

    def _node(self, level: int, index: int) -> bytes:
        start = index * HASH_SIZE
        return bytes(self._levels[level][start : start + HASH_SIZE])

    def _subtree_hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for the ranges the RFC recursion produces (start aligned to its size)."""
        width = end - start
        if width & (width - 1) == 0:
            level = width.bit_length() - 1
            return self._node(level, start >> level)
        k = _largest_power_of_two_below(width)
        return node_hash(self._subtree_hash(start, start + k), self._subtree_hash(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first `size` leaves (default: all)."""
        size = self._size if size is None else size
        if not 0 <= size <= self._size:
            raise ProofError(f"no tree of size {size} (have {self._size})")
        if size == 0:
            return EMPTY_ROOT
        return self._subtree_hash(0, size)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """PATH(index, D[size]) of RFC 9162 section 2.1.3.1."""
        size = self._size if size is None else size
        if not 0 <= index < size <= self._size:
            raise ProofError(f"no inclusion proof for leaf {index} in a tree of size {size}")
        path: list[bytes] = []
        start, end = 0, size
        # Walk down from the root; siblings are collected top-down, the proof lists them bottom-up.
        while end - start > 1:
            k = _largest_power_of_two_below(end - start)
            if index - start < k:
                path.append(self._subtree_hash(start + k, end))
                end = start + k
            else:
                path.append(self._subtree_hash(start, start + k))
                start += k
        path.reverse()
        return path

    def consistency_proof(self, first: int, second: int | None = None) -> list[bytes]:
        """PROOF(first, D[second]) of RFC 9162 section 2.1.4.1 (empty when first is 0 or equal)."""
        second = self._size if second is None else second
        if not 0 <= first <= second <= self._size:
            raise ProofError(f"no consistency proof from {first} to {second} (have {self._size})")
        if first == 0 or first == second:
            return []
        proof: list[bytes] = []
        start, end, whole = 0, second, True
        m = first
        while True:
            if m == end - start:
                if not whole:
                    proof.append(self._subtree_hash(start, end))
                break
            k = _largest_power_of_two_below(end - start)
            if m <= k:
                proof.append(self._subtree_hash(start + k, end))
                end = start + k
            else:
                proof.append(self._subtree_hash(start, start + k))
                m -= k
                start += k
                whole = False
        proof.reverse()
        return proof


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH computed in one pass with a stack of perfect subtrees (no stored levels)."""
    stack: list[bytes] = []
    for count, hashed in enumerate(leaf_hashes, start=1):
        stack.append(hashed)
        carry = count
        while carry & 1 == 0:
            right = stack.pop()
            stack[-1] = _sha256(b"\x01" + stack[-1] + right).digest()
            carry >>= 1
    if not stack:
        return EMPTY_ROOT
    root = stack[-1]
    for left in reversed(stack[:-1]):
        root = node_hash(left, root)
    return root


def verify_inclusion(
    leaf_index: int, tree_size: int, leaf_hash_value: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """RFC 9162 section 2.1.3.2, step by step."""
    if leaf_index >= tree_size or leaf_index < 0:
        return False
    fn, sn = leaf_index, tree_size - 1
    r = leaf_hash_value
    for p in proof:
        if len(p) != HASH_SIZE:
            return False
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not (fn & 1) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(
    first: int, second: int, first_hash: bytes, second_hash: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 section 2.1.4.2, step by step, after the trivial cases the RFC leaves to the caller:
    equal sizes need equal roots and an empty proof; size 0 is consistent with anything (empty proof)."""
    if first < 0 or second < first:
        return False
    if first == second:
        return not proof and first_hash == second_hash
    if first == 0:
        return not proof
    # 1. An empty path fails.
    if not proof or any(len(c) != HASH_SIZE for c in proof):
        return False
    path = list(proof)
    # 2. If first is an exact power of 2, prepend first_hash.
    if first & (first - 1) == 0:
        path.insert(0, first_hash)
    # 3.
    fn, sn = first - 1, second - 1
    # 4. Right-shift while LSB(fn) is set.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 5.
    fr = sr = path[0]
    # 6.
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # 7.
    return fr == first_hash and sr == second_hash and sn == 0
