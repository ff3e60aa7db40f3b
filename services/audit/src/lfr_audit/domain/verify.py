"""Offline verification of an export: recompute everything, name the first bad entry.

Checks, in order: every signed tree head's signature (and key id) against the given public key; then
one pass over the lines that re-canonicalises each payload, recomputes the hash chain from the genesis,
folds the leaf hashes into RFC 6962 roots, and compares the root and chain head at every signed size.

Classification of the first anomaly (by line order):
* `inserted`  - a line claims a sequence already taken, or one no signed tree head covers;
* `deleted`   - the expected sequence is absent from the whole export (a gap, or a truncated tail);
* `reordered` - the expected sequence appears later in the file;
* `altered`   - the line's recomputed chain hash differs from its recorded one, or (when an attacker
  rewrote the hashes too) the signed root/chain head for an interval does not match: then `sequence` is
  the start of the first failing interval and `detail` names the interval;
* `malformed` - a line is not a well-formed export line;
* `bad_signature` - a tree head fails signature verification (`sequence` is null: no entry is named).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from lfr_audit.domain.canonical import CANONICAL_ENCODER, PAYLOAD_KEYS
from lfr_audit.domain.chain import GENESIS_HASH
from lfr_audit.domain.export import ExportEntry
from lfr_audit.domain.merkle import EMPTY_ROOT
from lfr_audit.domain.tree_head import SignedTreeHead, key_id, verify_tree_head

# The canonical payload's keys, exactly: anything more or less is an insertion or a deletion.
_PAYLOAD_KEY_SET = frozenset(PAYLOAD_KEYS)


@dataclass(frozen=True, kw_only=True)
class FirstBad:
    sequence: int | None
    kind: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"sequence": self.sequence, "kind": self.kind, "detail": self.detail}


@dataclass(frozen=True, kw_only=True)
class VerificationReport:
    ok: bool
    entries: int
    tree_size: int
    verified_tree_heads: int
    root_hash: str | None
    first_bad: FirstBad | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "tree_size": self.tree_size,
            "verified_tree_heads": self.verified_tree_heads,
            "root_hash": self.root_hash,
            "first_bad": self.first_bad.as_dict() if self.first_bad else None,
        }


class _Found(Exception):
    def __init__(self, sequence: int | None, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.first_bad = FirstBad(sequence=sequence, kind=kind, detail=detail)


def verify_export(
    entries: Iterable[ExportEntry],
    tree_heads: Sequence[SignedTreeHead],
    public_key: Ed25519PublicKey,
    *,
    strict: bool = True,
) -> VerificationReport:
    """Streams `entries` once (a generator over a 1,000,000-line file is fine); never holds them all.

    Without `strict`, the chain and roots are recomputed over the committed bytes as the export holds
    them, which detects every alteration; `strict` also parses each entry and re-canonicalises it, proving
    it is canonical JSON with exactly the ledger's fields (about three times slower).
    """
    heads = sorted(tree_heads, key=lambda head: head.tree_size)
    tree_size = heads[-1].tree_size if heads else 0
    root_hex = heads[-1].root_hash.hex() if heads else None
    walk = _Walk(iter(entries), heads, strict)
    first_bad: FirstBad | None = None
    try:
        _check_signatures(heads, public_key)
        walk.run()
    except _Found as found:
        first_bad = found.first_bad
        walk.drain()
    return VerificationReport(
        ok=first_bad is None,
        entries=walk.count,
        tree_size=tree_size,
        verified_tree_heads=walk.matched,
        root_hash=root_hex,
        first_bad=first_bad,
    )


def _check_signatures(heads: Sequence[SignedTreeHead], public_key: Ed25519PublicKey) -> None:
    if not heads:
        raise _Found(None, "bad_signature", "no signed tree head: nothing vouches for the export")
    expected_key = key_id(public_key)
    for head in heads:
        if head.key_id != expected_key or not verify_tree_head(head, public_key):
            raise _Found(
                None, "bad_signature", f"tree head of size {head.tree_size} is not signed by this key"
            )


class _Walk:
    """The single pass over the lines; raises _Found at the first anomaly.

    Classifying an anomaly needs to know which sequences appear *later*; only then is the rest of the
    stream read (into a set of sequences), so a clean export is verified in one streaming pass.
    """

    def __init__(self, lines: Iterator[ExportEntry], heads: list[SignedTreeHead], strict: bool) -> None:
        self._lines = lines
        self._strict = strict
        self._heads = heads
        self.count = 0
        self.matched = 0
        self._later: set[int | None] | None = None

    def later(self) -> set[int | None]:
        if self._later is None:
            self._later = set()
            for line in self._lines:
                self.count += 1
                self._later.add(line.sequence)
        return self._later

    def drain(self) -> None:
        self.later()

    def run(self) -> None:
        heads = self._heads
        signed_size = heads[-1].tree_size
        sha256 = hashlib.sha256
        strict = self._strict
        # Perfect-subtree stack (RFC 6962 compact range) for the roots at each signed size.
        stack: list[bytes] = []
        head_index = 0
        boundary = 0
        previous = GENESIS_HASH
        expected = 0
        next_head_size = heads[0].tree_size
        while True:
            # Compare every signed tree head whose size we have just reached.
            while next_head_size == expected:
                head = heads[head_index]
                root = _fold(stack) if expected else EMPTY_ROOT
                if root != head.root_hash or previous != head.head_hash:
                    raise _Found(
                        boundary,
                        "altered",
                        f"entries [{boundary}, {expected}) do not match the signed tree head of size "
                        f"{expected} (root or chain head differs though each line's own hash chains)",
                    )
                self.matched += 1
                boundary = expected
                head_index += 1
                next_head_size = heads[head_index].tree_size if head_index < len(heads) else -1
            line = next(self._lines, None)
            if line is None:
                break
            self.count += 1
            sequence = line.sequence
            if line.problem is not None:
                raise _Found(sequence, "malformed", f"line {line.line_number}: {line.problem}")
            assert sequence is not None
            if sequence != expected:
                self._classify_out_of_place(line, expected, signed_size)
            if sequence >= signed_size:
                raise _Found(
                    sequence, "inserted", f"line {line.line_number}: no signed tree head covers {sequence}"
                )
            canonical = line.canonical
            if strict:
                _check_canonical(canonical, sequence, f"line {line.line_number}")
            entry_hash = sha256(previous + canonical).digest()
            if entry_hash != line.entry_hash:
                where = f"line {line.line_number}"
                if sequence in self.later():
                    raise _Found(
                        sequence, "inserted", f"{where}: a second, non-chaining line claims {sequence}"
                    )
                raise _Found(sequence, "altered", f"{where}: content does not match the hash chain")
            previous = entry_hash
            stack.append(sha256(b"\x00" + canonical).digest())
            expected += 1
            carry = expected
            while not carry & 1:
                right = stack.pop()
                stack[-1] = sha256(b"\x01" + stack[-1] + right).digest()
                carry >>= 1
        if expected < signed_size:
            raise _Found(
                expected, "deleted", f"the export ends at {expected}; the signed tree has {signed_size}"
            )

    def _classify_out_of_place(self, line: ExportEntry, expected: int, signed_size: int) -> None:
        sequence = line.sequence
        assert sequence is not None
        where = f"line {line.line_number}"
        later = self.later()
        if sequence < expected or sequence in later:
            raise _Found(sequence, "inserted", f"{where}: sequence {sequence} appears more than once")
        if sequence >= signed_size:
            raise _Found(sequence, "inserted", f"{where}: no signed tree head covers {sequence}")
        if expected in later:
            raise _Found(
                expected, "reordered", f"{where}: holds {sequence} where {expected} belongs (found later)"
            )
        raise _Found(expected, "deleted", f"{where}: {expected} is missing (next present is {sequence})")


def _check_canonical(canonical: bytes, sequence: int, where: str) -> None:
    try:
        payload = json.loads(canonical)
        if not isinstance(payload, dict) or payload.keys() != _PAYLOAD_KEY_SET:
            raise ValueError("the entry's fields are not the ledger's fields")
        if CANONICAL_ENCODER.encode(payload).encode("utf-8") != canonical:
            raise ValueError("the entry is not in canonical form")
    except ValueError as exc:
        raise _Found(sequence, "altered", f"{where}: {exc}") from exc


def _fold(stack: list[bytes]) -> bytes:
    root = stack[-1]
    for left in reversed(stack[:-1]):
        root = hashlib.sha256(b"\x01" + left + root).digest()
    return root
