"""The mutation bar: 100 seeded tamperings of a written export (25 edits, 25 deletions, 25 swaps,
25 forged insertions) are all detected, each naming the right first bad entry and kind."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from lfr_audit.adapters.export import iter_entries, read_tree_heads, write_export
from lfr_audit.domain.canonical import canonical_json
from lfr_audit.domain.chain import GENESIS_HASH, chain_hash
from lfr_audit.domain.export import encode_line
from lfr_audit.domain.verify import verify_export

from tests.unit.audit.factories import build_ledger

SIZE = 240


def edit(rng: random.Random, lines: list[bytes]) -> tuple[list[bytes], int, str]:
    k = rng.randrange(len(lines))
    raw = json.loads(lines[k])
    entry = raw["entry"]
    choice = rng.randrange(8)
    if choice == 0:
        entry["event_type"] = entry["event_type"] + "Reversed"
    elif choice == 1:
        entry["metadata"]["actor"] = "someone-else"
    elif choice == 2:
        entry["metadata"]["role"] = "admin" if entry["metadata"]["role"] != "admin" else "operator"
    elif choice == 3:
        entry["data"]["count"] = entry["data"]["count"] + 1
    elif choice == 4:
        entry["occurred_at"] = entry["occurred_at"].replace(":00.", ":01.").replace(":0", ":5", 1)
    elif choice == 5:
        entry["version"] += 1
    elif choice == 6:  # the recorded hash itself
        raw["entry_hash"] = ("0" if raw["entry_hash"][0] != "0" else "1") + raw["entry_hash"][1:]
    else:  # a raw byte-level edit inside the entry, not re-serialised
        line = lines[k]
        at = line.index(b'"event_id":"') + len(b'"event_id":"')
        flipped = b"f" if line[at : at + 1] != b"f" else b"e"
        mutated = list(lines)
        mutated[k] = line[:at] + flipped + line[at + 1 :]
        return mutated, k, "altered"
    mutated = list(lines)
    mutated[k] = encode_line(raw["sequence"], bytes.fromhex(raw["entry_hash"]), canonical_json(entry))
    assert mutated[k] != lines[k]
    return mutated, k, "altered"


def delete(rng: random.Random, lines: list[bytes]) -> tuple[list[bytes], int, str]:
    k = rng.randrange(len(lines))
    return lines[:k] + lines[k + 1 :], k, "deleted"


def swap(rng: random.Random, lines: list[bytes]) -> tuple[list[bytes], int, str]:
    a, b = sorted(rng.sample(range(len(lines)), 2))
    mutated = list(lines)
    mutated[a], mutated[b] = mutated[b], mutated[a]
    return mutated, a, "reordered"


def insert(rng: random.Random, lines: list[bytes]) -> tuple[list[bytes], int, str]:
    """A forged entry. Half claim the slot they sit in with a correctly chained hash (the strongest
    forgery without the signing key); half claim any existing sequence with a made-up hash."""
    p = rng.randrange(len(lines) + 1)
    donor = json.loads(lines[rng.randrange(len(lines))])["entry"]
    donor["event_id"] = f"{rng.getrandbits(128):032x}"
    donor["data"]["note"] = "forged"
    canonical = canonical_json(donor)
    if rng.random() < 0.5:
        claimed = p
        previous = GENESIS_HASH if p == 0 else bytes.fromhex(json.loads(lines[p - 1])["entry_hash"])
        forged = encode_line(claimed, chain_hash(previous, canonical), canonical)
    else:
        claimed = rng.randrange(len(lines))
        forged = encode_line(claimed, rng.randbytes(32), canonical)
    return lines[:p] + [forged] + lines[p:], claimed, "inserted"


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[bytes], Path, object]:
    records, heads, key = build_ledger(SIZE, seed=11, head_every=64)
    folder = tmp_path_factory.mktemp("export")
    write_export(folder / "ledger.jsonl", folder / "sth.json", records, heads)
    return (folder / "ledger.jsonl").read_bytes().splitlines(keepends=True), folder / "sth.json", key


@pytest.mark.parametrize("strict", [True, False], ids=["strict", "committed-bytes"])
def test_100_random_tamperings_are_all_detected_and_located(
    export: tuple[list[bytes], Path, object], tmp_path: Path, strict: bool
) -> None:
    lines, heads_path, key = export
    heads = read_tree_heads(heads_path)
    public_key = key.public_key  # type: ignore[attr-defined]
    clean = tmp_path / "clean.jsonl"
    clean.write_bytes(b"".join(lines))
    assert verify_export(iter_entries(clean), heads, public_key, strict=strict).ok

    rng = random.Random(20261122)
    tamperings = [edit, delete, swap, insert] * 25
    rng.shuffle(tamperings)
    detected = []
    misnamed = []
    for number, tamper in enumerate(tamperings):
        mutated, sequence, kind = tamper(rng, lines)
        path = tmp_path / f"tampered-{number}.jsonl"
        path.write_bytes(b"".join(mutated))
        report = verify_export(iter_entries(path), heads, public_key, strict=strict)
        if not report.ok:
            detected.append(number)
        bad = report.first_bad
        if bad is None or (bad.sequence, bad.kind) != (sequence, kind):
            misnamed.append((tamper.__name__, sequence, kind, bad))
    assert len(detected) == 100
    assert misnamed == []
