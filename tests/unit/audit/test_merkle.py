"""RFC 6962 Merkle tree: known vectors, a brute-force reference, and property tests of the proofs."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lfr_audit.domain.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    ProofError,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

# Test data of the RFC 6962 reference tree, as published in transparency-dev/merkle (proof/verify_test.go).
LEAVES = [bytes.fromhex(h) for h in ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                      "606162636465666768696a6b6c6d6e6f"]]  # fmt: skip
ROOTS = [bytes.fromhex(h) for h in [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]]  # fmt: skip
# (leaf index 0-based, tree size, audit path)
INCLUSION_VECTORS = [
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
CONSISTENCY_VECTORS = [
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
]  # fmt: skip


def reference_mth(leaves: list[bytes]) -> bytes:
    """MTH exactly as RFC 6962 section 2.1 writes it, recursively over leaf data."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaf_hash(leaves[0])
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    return node_hash(reference_mth(leaves[:k]), reference_mth(leaves[k:]))


def reference_path(m: int, leaves: list[bytes]) -> list[bytes]:
    if len(leaves) == 1:
        return []
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    if m < k:
        return reference_path(m, leaves[:k]) + [reference_mth(leaves[k:])]
    return reference_path(m - k, leaves[k:]) + [reference_mth(leaves[:k])]


def reference_subproof(m: int, leaves: list[bytes], whole: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if whole else [reference_mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return reference_subproof(m, leaves[:k], whole) + [reference_mth(leaves[k:])]
    return reference_subproof(m - k, leaves[k:], False) + [reference_mth(leaves[:k])]


def tree_of(leaves: list[bytes]) -> MerkleTree:
    tree = MerkleTree()
    for leaf in leaves:
        tree.append_leaf(leaf)
    return tree


def test_empty_tree_root_is_hash_of_nothing() -> None:
    assert (
        MerkleTree().root()
        == EMPTY_ROOT
        == bytes.fromhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    )


def test_roots_match_the_published_vectors_at_every_size() -> None:
    tree = tree_of(LEAVES)
    for size in range(1, 9):
        assert tree.root(size) == ROOTS[size - 1], size
        assert root_from_leaf_hashes([leaf_hash(x) for x in LEAVES[:size]]) == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_inclusion_proofs_match_the_published_vectors(index: int, size: int, path: list[str]) -> None:
    tree = tree_of(LEAVES)
    expected = [bytes.fromhex(h) for h in path]
    assert tree.inclusion_proof(index, size) == expected
    assert verify_inclusion(index, size, leaf_hash(LEAVES[index]), expected, ROOTS[size - 1])
    assert not verify_inclusion(index ^ 1, size, leaf_hash(LEAVES[index]), expected, ROOTS[size - 1])
    assert not verify_inclusion(index, size, leaf_hash(b"WrongLeaf"), expected, ROOTS[size - 1])
    assert not verify_inclusion(index, size, leaf_hash(LEAVES[index]), expected[:-1], ROOTS[size - 1])
    assert not verify_inclusion(index, size, leaf_hash(LEAVES[index]), expected + [ROOTS[0]], ROOTS[size - 1])


@pytest.mark.parametrize(("first", "second", "proof"), CONSISTENCY_VECTORS)
def test_consistency_proofs_match_the_published_vectors(first: int, second: int, proof: list[str]) -> None:
    tree = tree_of(LEAVES)
    expected = [bytes.fromhex(h) for h in proof]
    assert tree.consistency_proof(first, second) == expected
    assert verify_consistency(first, second, ROOTS[first - 1], ROOTS[second - 1], expected)
    assert not verify_consistency(first, second, ROOTS[second - 1], ROOTS[first - 1], expected)
    assert not verify_consistency(first, second, ROOTS[first - 1], ROOTS[second - 1], expected[:-1])
    assert not verify_consistency(first, second, ROOTS[first - 1], ROOTS[second - 1], [])
    flipped = [bytes([expected[0][0] ^ 16]) + expected[0][1:]] + expected[1:]
    assert not verify_consistency(first, second, ROOTS[first - 1], ROOTS[second - 1], flipped)


def test_trivial_consistency_cases() -> None:
    some, other = ROOTS[0], ROOTS[1]
    assert verify_consistency(0, 0, some, some, [])
    assert verify_consistency(0, 5, some, other, [])
    assert verify_consistency(3, 3, some, some, [])
    assert not verify_consistency(3, 3, some, other, [])
    assert not verify_consistency(3, 3, some, some, [some])
    assert not verify_consistency(2, 1, some, other, [])
    assert not verify_consistency(1, 2, some, other, [])


def test_proofs_outside_the_tree_are_refused() -> None:
    tree = tree_of(LEAVES[:3])
    with pytest.raises(ProofError):
        tree.inclusion_proof(3, 3)
    with pytest.raises(ProofError):
        tree.consistency_proof(2, 4)
    with pytest.raises(ProofError):
        tree.root(4)
    assert not verify_inclusion(0, 0, leaf_hash(b""), [], EMPTY_ROOT)


@settings(max_examples=60, deadline=None)
@given(size=st.integers(min_value=1, max_value=140), data=st.data())
def test_proofs_agree_with_the_rfc_recursion_and_verify(size: int, data: st.DataObject) -> None:
    leaves = [b"leaf-%d" % i for i in range(size)]
    tree = tree_of(leaves)
    for smaller in range(0, size + 1):
        assert tree.root(smaller) == reference_mth(leaves[:smaller])
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    at_size = data.draw(st.integers(min_value=index + 1, max_value=size))
    path = tree.inclusion_proof(index, at_size)
    assert path == reference_path(index, leaves[:at_size])
    assert verify_inclusion(index, at_size, leaf_hash(leaves[index]), path, tree.root(at_size))
    assert not verify_inclusion(index, at_size, leaf_hash(b"other"), path, tree.root(at_size))
    first = data.draw(st.integers(min_value=1, max_value=size))
    proof = tree.consistency_proof(first, size)
    if first < size:
        assert proof == reference_subproof(first, leaves, True)
    assert verify_consistency(first, size, tree.root(first), tree.root(), proof)
    if first < size:
        assert not verify_consistency(first, size, tree.root(first), tree.root(size - 1), proof)
        assert not verify_consistency(first, size, leaf_hash(b"x"), tree.root(), proof)


def test_every_leaf_and_every_pair_of_sizes_up_to_33() -> None:
    leaves = [bytes([i]) * (i % 5) for i in range(33)]
    tree = tree_of(leaves)
    for size in range(1, 34):
        root = tree.root(size)
        for index in range(size):
            assert verify_inclusion(
                index, size, leaf_hash(leaves[index]), tree.inclusion_proof(index, size), root
            )
        for first in range(1, size + 1):
            proof = tree.consistency_proof(first, size)
            assert verify_consistency(first, size, tree.root(first), root, proof), (first, size)
