"""Comparison scores for evaluation, computed by the runtime's own ``Gallery``.

``cosine``: plain cosine of L2-normalised embeddings. ``snorm``: the gallery's cohort-normalised score
(``vision.matcher``: adaptive top-k S-norm against a fixed-size cohort drawn from the gallery itself),
so what is measured here is exactly what the service computes.
"""

from __future__ import annotations

import numpy as np

from lfr_inference.arrays import BoolArray, Float32Array, Float64Array
from lfr_inference.vision.matcher import Gallery

SCORE_KINDS = ("cosine", "snorm")


def gallery_scores(
    probes: Float32Array, gallery: Float32Array, gallery_ok: BoolArray, kind: str
) -> Float64Array:
    """[P, G] scores of probe embeddings against gallery embeddings; -inf for gallery entries whose
    image had no face (they are not enrolled)."""
    if kind not in SCORE_KINDS:
        raise ValueError(f"unknown score kind {kind!r}; one of {SCORE_KINDS}")
    enrolled = np.nonzero(gallery_ok)[0]
    store = Gallery[int](initial_capacity=max(1, len(enrolled)), normalise=kind == "snorm")
    store.add_many((int(i), gallery[i]) for i in enrolled)
    if kind == "snorm" and not store.normalises:
        raise ValueError(f"snorm needs a gallery of at least the cohort size; got {len(store)}")
    out = np.full((len(probes), len(gallery)), -np.inf, dtype=np.float64)
    if len(enrolled) and len(probes):
        _, scores = store.scores(probes)
        out[:, enrolled] = scores
    return out
