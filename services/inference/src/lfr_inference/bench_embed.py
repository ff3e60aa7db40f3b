"""Embedder and matcher benchmark: a dict for ``lfr bench inference`` (the coordinator prints it).

* ``embed_faces_per_s``: ONNX embedder throughput on aligned 150x150 chips, batch 1 and batch 32,
  in-process onnxruntime with ``intra_op_num_threads`` threads.
* ``match_ms``: one probe against a gallery of N random unit templates (float32, exact best match with
  the default cosine score; ``match_ms_snorm`` with the optional S-norm), median of repeated searches, for
  N = 15,000 and 1,000,000. The 1M gallery is 512 MB; a search reads all of it, so it is bound by
  memory bandwidth, not arithmetic.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np

from lfr_inference.arrays import UInt8Array
from lfr_inference.vision.chips import CHIP_SIZE
from lfr_inference.vision.embedder import EMBEDDING_DIM, Embedder
from lfr_inference.vision.matcher import Gallery


def _median_ms(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return float(np.median(times))


def _random_gallery(size: int, seed: int) -> Gallery[int]:
    rng = np.random.default_rng(seed)
    gallery = Gallery[int](initial_capacity=size)
    block = 100_000
    for start in range(0, size, block):
        rows = rng.standard_normal((min(block, size - start), EMBEDDING_DIM), dtype=np.float32)
        rows /= np.linalg.norm(rows, axis=1, keepdims=True)
        for offset, row in enumerate(rows):
            gallery.add(start + offset, row)
    return gallery


def run_embed_bench(
    chips: UInt8Array | None = None,
    intra_op_num_threads: int = 1,
    gallery_sizes: tuple[int, ...] = (15_000, 1_000_000),
    model_path: Path | None = None,
) -> dict[str, object]:
    """Measure embedder throughput and 1:N search latency. ``chips`` are real aligned faces when
    the caller has them (the pipeline bench does); otherwise a fixed pseudo-random chip batch is used,
    which costs the network exactly the same."""
    if chips is None:
        chips = np.random.default_rng(0).integers(0, 256, (32, CHIP_SIZE, CHIP_SIZE, 3), dtype=np.uint8)
    batch32 = np.resize(chips, (32, CHIP_SIZE, CHIP_SIZE, 3)).astype(np.uint8)
    embedder = Embedder(model_path, intra_op_num_threads=intra_op_num_threads)
    ms_1 = _median_ms(lambda: embedder.embed(batch32[:1]), repeats=10)
    ms_32 = _median_ms(lambda: embedder.embed(batch32), repeats=3)
    match: dict[str, float] = {}
    match_snorm: dict[str, float] = {}
    probe = np.random.default_rng(1).standard_normal(EMBEDDING_DIM).astype(np.float32)
    probe /= np.linalg.norm(probe)
    for size in gallery_sizes:
        gallery = _random_gallery(size, seed=size)
        match[str(size)] = round(_median_ms(partial(gallery.search, probe, k=1), repeats=20), 3)
        gallery.normalise_requested = True
        match_snorm[str(size)] = round(_median_ms(partial(gallery.search, probe, k=1), repeats=20), 3)
        del gallery
    return {
        "embed_faces_per_s": {"batch_1": round(1000 / ms_1, 2), "batch_32": round(32 * 1000 / ms_32, 2)},
        "embed_ms_per_batch": {"batch_1": round(ms_1, 2), "batch_32": round(ms_32, 2)},
        "intra_op_num_threads": intra_op_num_threads,
        "match_ms": match,
        "match_ms_snorm": match_snorm,
        "match_note": "one probe, exact best match over the whole float32 gallery; match_ms is the "
                      "default plain cosine, match_ms_snorm the optional cohort-normalised score",
    }
