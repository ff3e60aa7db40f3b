"""Reading and writing export files: JSON Lines of entries plus a side-car tree-heads document."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path

from lfr_audit.domain.export import (
    ExportEntry,
    decode_line,
    decode_tree_heads,
    encode_line,
    encode_tree_heads,
)
from lfr_audit.domain.ledger import LedgerRecord
from lfr_audit.domain.tree_head import SignedTreeHead


def write_export(
    entries_path: Path,
    tree_heads_path: Path,
    records: Iterable[LedgerRecord],
    heads: Iterable[SignedTreeHead],
) -> int:
    """Write the records (in sequence order) and the tree heads; returns the number of lines."""
    count = 0
    with entries_path.open("wb", buffering=1 << 20) as out:
        for record in records:
            out.write(encode_line(record.sequence, record.entry_hash, record.canonical))
            count += 1
    tree_heads_path.write_bytes(encode_tree_heads(heads))
    return count


def iter_entries(entries_path: Path) -> Iterator[ExportEntry]:
    """Stream the lines: verification of a 1,000,000-line export never holds it in memory."""
    with entries_path.open("rb", buffering=1 << 20) as source:
        for number, line in enumerate(source, start=1):
            if line.strip():
                yield decode_line(number, line)


def read_entries(entries_path: Path) -> list[ExportEntry]:
    return list(iter_entries(entries_path))


def read_tree_heads(tree_heads_path: Path) -> list[SignedTreeHead]:
    return decode_tree_heads(tree_heads_path.read_bytes())
