"""Evaluation sets on disk: LFW pair lists and ``<identity>/<image>`` folders."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png"}


@dataclass(frozen=True)
class Pair:
    first: Path
    second: Path
    same: bool
    fold: int


def _lfw_image(images: Path, name: str, number: str) -> Path:
    return images / name / f"{name}_{int(number):04d}.jpg"


def read_pairs(pairs_file: Path, images: Path, folds: int = 10) -> list[Pair]:
    """LFW pair lists. ``pairs.txt`` (View 2) starts with "<sets> <n>" and holds, per set, n matched
    then n mismatched pairs; ``pairsDevTrain.txt`` (View 1) starts with "<n>" (n matched then n
    mismatched), which we split into ``folds`` folds keeping each fold balanced."""
    lines = [line.split() for line in pairs_file.read_text().splitlines() if line.strip()]
    header, body = lines[0], lines[1:]
    if len(header) == 2:
        sets, per_set = int(header[0]), int(header[1])
        blocks = [(s, body[s * 2 * per_set : (s + 1) * 2 * per_set]) for s in range(sets)]
    else:
        per_set = int(header[0])
        folds = max(1, min(folds, per_set))
        matched, mismatched = body[:per_set], body[per_set:]
        size = per_set // folds
        blocks = [(f, matched[f * size : (f + 1) * size] + mismatched[f * size : (f + 1) * size])
                  for f in range(folds)]
    pairs = []
    for fold, rows in blocks:
        for row in rows:
            if len(row) == 3:
                pairs.append(Pair(_lfw_image(images, row[0], row[1]), _lfw_image(images, row[0], row[2]),
                                  True, fold))
            elif len(row) == 4:
                pairs.append(Pair(_lfw_image(images, row[0], row[1]), _lfw_image(images, row[2], row[3]),
                                  False, fold))
            else:
                raise ValueError(f"unreadable pair line: {' '.join(row)}")
    return pairs


@dataclass(frozen=True)
class IdentificationSet:
    """Open-set protocol: gallery = first image of each identity with >= 2 images; mated probes =
    their other images; non-mated probes = images of identities with exactly one image."""

    gallery: list[tuple[str, Path]]
    mated: list[tuple[str, Path]]
    non_mated: list[tuple[str, Path]]


def read_identities(images: Path) -> dict[str, list[Path]]:
    identities: dict[str, list[Path]] = {}
    for folder in sorted(p for p in images.iterdir() if p.is_dir()):
        files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if files:
            identities[folder.name] = files
    return identities


def identification_set(images: Path) -> IdentificationSet:
    gallery: list[tuple[str, Path]] = []
    mated: list[tuple[str, Path]] = []
    non_mated: list[tuple[str, Path]] = []
    for identity, files in read_identities(images).items():
        if len(files) >= 2:
            gallery.append((identity, files[0]))
            mated.extend((identity, f) for f in files[1:])
        else:
            non_mated.append((identity, files[0]))
    return IdentificationSet(gallery, mated, non_mated)


def read_groups(csv_path: Path) -> dict[str, str]:
    """``identity,group`` CSV (a header row is skipped when its first cell is 'identity')."""
    groups: dict[str, str] = {}
    with csv_path.open(newline="") as f:
        for row in csv.reader(f):
            if len(row) >= 2 and row[0].strip() and row[0].strip().lower() != "identity":
                groups[row[0].strip()] = row[1].strip()
    return groups
