"""The export verifier on in-memory exports: a clean export passes; each kind of tampering is named."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from lfr_audit.domain.canonical import canonical_json
from lfr_audit.domain.chain import GENESIS_HASH, chain_hash
from lfr_audit.domain.export import decode_line, encode_record
from lfr_audit.domain.merkle import EMPTY_ROOT, MerkleTree, leaf_hash
from lfr_audit.domain.verify import verify_export

from tests.unit.audit.factories import build_ledger, signer


def lines_of(records) -> list[bytes]:  # type: ignore[no-untyped-def]
    return [encode_record(record) for record in records]


def verify_lines(lines: list[bytes], heads, key):  # type: ignore[no-untyped-def]
    return verify_export([decode_line(i, line) for i, line in enumerate(lines, 1)], heads, key.public_key)


def test_a_clean_export_verifies_with_every_tree_head() -> None:
    records, heads, key = build_ledger(50, head_every=8)
    report = verify_lines(lines_of(records), heads, key)
    assert report.ok, report
    assert report.entries == 50 and report.tree_size == 50
    assert report.verified_tree_heads == len(heads) == 7
    assert report.first_bad is None


def test_the_chain_and_leaves_are_over_the_canonical_bytes() -> None:
    records, _, _ = build_ledger(3)
    previous = GENESIS_HASH
    tree = MerkleTree()
    for record in records:
        assert record.canonical == canonical_json(record.entry.as_payload())
        assert record.entry_hash == chain_hash(previous, record.canonical)
        assert record.leaf_hash == leaf_hash(record.canonical)
        previous = record.entry_hash
        tree.append_leaf(record.canonical)
    assert json.loads(records[0].canonical)["data"]["note"] == "event 0 é✓"
    assert b" " not in records[0].canonical.replace(b"event 0 ", b"")


def test_an_empty_ledger_export_verifies() -> None:
    key = signer()
    head = key.sign(0, EMPTY_ROOT, GENESIS_HASH, datetime(2026, 1, 1, tzinfo=UTC))
    assert verify_export([], [head], key.public_key).ok


def test_an_edited_field_is_named_altered() -> None:
    records, heads, key = build_ledger(20)
    lines = lines_of(records)
    lines[7] = lines[7].replace(b'"schema_version":1', b'"schema_version":2')
    bad = verify_lines(lines, heads, key).first_bad
    assert bad is not None and (bad.sequence, bad.kind) == (7, "altered")


def test_a_deleted_line_is_named_deleted_even_at_the_end() -> None:
    records, heads, key = build_ledger(20)
    lines = lines_of(records)
    bad = verify_lines(lines[:5] + lines[6:], heads, key).first_bad
    assert bad is not None and (bad.sequence, bad.kind) == (5, "deleted")
    bad = verify_lines(lines[:-1], heads, key).first_bad
    assert bad is not None and (bad.sequence, bad.kind) == (19, "deleted")


def test_swapped_lines_are_named_reordered_at_the_earlier_sequence() -> None:
    records, heads, key = build_ledger(20)
    lines = lines_of(records)
    lines[3], lines[11] = lines[11], lines[3]
    bad = verify_lines(lines, heads, key).first_bad
    assert bad is not None and (bad.sequence, bad.kind) == (3, "reordered")


def test_a_rewritten_chain_is_caught_by_the_signed_roots() -> None:
    """An attacker who edits entry 13 and recomputes every later hash still fails the signed root."""
    records, heads, key = build_ledger(40, head_every=10)
    lines = lines_of(records)
    previous = records[12].entry_hash
    forged = []
    for line in lines[13:]:
        raw = json.loads(line)
        if raw["sequence"] == 13:
            raw["entry"]["metadata"]["actor"] = "someone-else"
        canonical = canonical_json(raw["entry"])
        previous = chain_hash(previous, canonical)
        forged.append(
            b'{"sequence":%d,"entry_hash":"%s","entry":%s}'
            % (raw["sequence"], previous.hex().encode(), canonical)
        )
    bad = verify_lines(lines[:13] + forged, heads, key).first_bad
    assert bad is not None and (bad.sequence, bad.kind) == (10, "altered")
    assert "[10, 20)" in bad.detail


def test_a_tree_head_signed_by_another_key_or_edited_is_a_bad_signature() -> None:
    records, heads, key = build_ledger(10)
    other = Ed25519PrivateKey.generate()
    report = verify_export([decode_line(1, encode_record(r)) for r in records], heads, other.public_key())
    assert report.first_bad is not None and report.first_bad.kind == "bad_signature"
    head = heads[-1]
    forged = type(head)(**{**head.__dict__, "tree_size": head.tree_size + 1})
    bad = verify_lines(lines_of(records), [forged], key).first_bad
    assert bad is not None and bad.kind == "bad_signature" and bad.sequence is None


def test_a_malformed_line_is_named() -> None:
    records, heads, key = build_ledger(5)
    lines = lines_of(records)
    lines[2] = lines[2][:40]
    bad = verify_lines(lines, heads, key).first_bad
    assert bad is not None and bad.kind == "malformed"


def test_a_reserialised_line_is_not_tampering() -> None:
    """Pretty-printing or reordering keys changes no committed content: the verifier re-canonicalises."""
    records, heads, key = build_ledger(6)
    lines = lines_of(records)
    raw = json.loads(lines[2])
    lines[2] = json.dumps(
        {"entry": raw["entry"], "sequence": 2, "entry_hash": raw["entry_hash"]}, indent=1
    ).encode()
    for strict in (True, False):
        report = verify_export(
            [decode_line(i, line) for i, line in enumerate(lines, 1)], heads, key.public_key, strict=strict
        )
        assert report.ok, report


def test_strict_mode_refuses_committed_bytes_that_are_not_a_canonical_entry() -> None:
    """A (misbehaving) ledger that signed a non-canonical entry passes the byte check, not strict mode."""
    key = signer()
    canonical = b'{"b":1, "a":2}'
    entry_hash = chain_hash(GENESIS_HASH, canonical)
    tree = MerkleTree()
    tree.append_leaf(canonical)
    head = key.sign(1, tree.root(), entry_hash, datetime(2026, 1, 1, tzinfo=UTC))
    line = b'{"sequence":0,"entry_hash":"%s","entry":%s}' % (entry_hash.hex().encode(), canonical)
    assert verify_export([decode_line(1, line)], [head], key.public_key, strict=False).ok
    bad = verify_export([decode_line(1, line)], [head], key.public_key, strict=True).first_bad
    assert bad is not None and (bad.sequence, bad.kind) == (0, "altered")
