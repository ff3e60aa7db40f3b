"""The export line format (JSON Lines), pure: one ledger entry per line, encoded and decoded here.

    {"sequence":41,"entry_hash":"<64 hex>","entry":{...canonical payload...}}

`entry` is written in canonical form, so the line itself holds the exact committed bytes: the verifier
hashes those bytes (any edit breaks the chain) and, in strict mode, also re-canonicalises the parsed
object to prove the committed bytes are canonical JSON with exactly the ledger's fields.

The signed tree heads travel in a side-car JSON document,
{"format": "lfr-audit-tree-heads/1", "tree_heads": [...]}, smallest tree first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass

from lfr_audit.domain.canonical import canonical_json
from lfr_audit.domain.ledger import LedgerRecord
from lfr_audit.domain.tree_head import SignedTreeHead

TREE_HEADS_FORMAT = "lfr-audit-tree-heads/1"


@dataclass(slots=True, frozen=True)
class ExportEntry:
    """One parsed line: its claimed sequence and hash, and the committed bytes of its entry.

    `canonical` is the entry exactly as the line spells it when the line is in the written layout
    (so the chain is checked over the very bytes on disk), or the re-canonicalised object when someone
    re-serialised the line (whitespace or key order alone is not tampering). `problem` is set, and the
    rest may be empty, when the line is malformed.
    """

    line_number: int
    sequence: int | None
    entry_hash: bytes
    canonical: bytes
    problem: str | None = None


def encode_line(sequence: int, entry_hash: bytes, canonical: bytes) -> bytes:
    return b'{"sequence":%d,"entry_hash":"%s","entry":%s}\n' % (
        sequence,
        entry_hash.hex().encode("ascii"),
        canonical,
    )


def encode_record(record: LedgerRecord) -> bytes:
    return encode_line(record.sequence, record.entry_hash, record.canonical)


# The layout encode_line writes; anything else is parsed as generic JSON.
_LINE = re.compile(
    rb'\{"sequence":(0|[1-9][0-9]*),"entry_hash":"([0-9a-f]{64})","entry":(\{.*\})\}\s*\Z', re.S
)


def decode_line(line_number: int, line: bytes | str) -> ExportEntry:
    raw_line = line.encode("utf-8") if isinstance(line, str) else line
    match = _LINE.match(raw_line)
    if match is not None:
        sequence, hex_hash, canonical = match.groups()
        return ExportEntry(line_number, int(sequence), bytes.fromhex(hex_hash.decode()), canonical)
    return _decode_generic_line(line_number, raw_line)


def _decode_generic_line(line_number: int, line: bytes) -> ExportEntry:
    try:
        raw = json.loads(line)
    except ValueError as exc:
        return ExportEntry(line_number, None, b"", b"", f"not JSON: {exc}")
    if not isinstance(raw, dict):
        return ExportEntry(line_number, None, b"", b"", "not a JSON object")
    sequence = raw.get("sequence")
    if type(sequence) is not int:
        return ExportEntry(line_number, None, b"", b"", "sequence missing or not an integer")
    payload = raw.get("entry")
    hex_hash = raw.get("entry_hash")
    try:
        entry_hash = bytes.fromhex(hex_hash) if isinstance(hex_hash, str) else b""
    except ValueError:
        entry_hash = b""
    if not isinstance(payload, dict) or len(entry_hash) != 32:
        return ExportEntry(line_number, sequence, b"", b"", "entry or entry_hash missing or malformed")
    try:
        canonical = canonical_json(payload)
    except ValueError as exc:
        return ExportEntry(line_number, sequence, b"", b"", f"entry is not canonicalisable: {exc}")
    return ExportEntry(line_number, sequence, entry_hash, canonical)


def decode_lines(lines: Iterable[bytes | str]) -> list[ExportEntry]:
    return [decode_line(number, line) for number, line in enumerate(lines, start=1) if line.strip()]


def encode_tree_heads(heads: Iterable[SignedTreeHead]) -> bytes:
    document = {"format": TREE_HEADS_FORMAT, "tree_heads": [head.as_dict() for head in heads]}
    return json.dumps(document, indent=2).encode("utf-8") + b"\n"


def decode_tree_heads(document: bytes | str) -> list[SignedTreeHead]:
    """Accepts the side-car document, a single tree head object, or a JSON list of them."""
    raw = json.loads(document)
    if isinstance(raw, dict) and "tree_heads" in raw:
        items = raw["tree_heads"]
    elif isinstance(raw, dict):
        items = [raw]
    else:
        items = raw
    return [SignedTreeHead.from_dict(item) for item in items]
