"""Open-set 1:N identification: TPIR at fixed FPIR (NIST FRVT 1:N style, rank 1).

* A non-mated probe (its identity is not in the gallery) raises a false positive at threshold t when
  its best gallery score is >= t: FPIR(t) = share of non-mated probes that do.
* A mated probe is a true positive at t when its own identity is the top candidate and scores >= t:
  TPIR(t) = share of mated probes that are. Faces not detected score -inf (a miss for a mated probe,
  no alarm for a non-mated one); a gallery image without a face leaves its identity unenrolled.
* The threshold for a target FPIR f is the lowest score that keeps observed FPIR <= f. When
  f x (non-mated probes) < 1 the FPIR cannot be resolved by the data: the threshold is then just
  above the highest non-mated score (observed FPIR 0) and the entry says ``"resolvable": false``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypedDict

import numpy as np

from lfr_inference.arrays import BoolArray, Float64Array, FloatArray, IndexArray

TARGET_FPIRS = ("0.01", "0.001", "0.0001")


class FpirThreshold(TypedDict):
    """The operating point chosen for one target FPIR (see the module docstring)."""

    threshold: float
    observed_fpir: float
    false_alarms_allowed: int
    resolvable: bool


@dataclass(frozen=True)
class OpenSetScores:
    mated_best_other: Float64Array  # best score among other identities, per mated probe
    mated_own: Float64Array  # score against own gallery template (-inf if not enrolled/detected)
    non_mated_best: Float64Array  # best gallery score per non-mated probe (-inf if no face)


def open_set_scores(
    scores: FloatArray, mated_gallery_index: IndexArray, non_mated_scores: FloatArray,
    gallery_ok: BoolArray, mated_ok: BoolArray, non_mated_ok: BoolArray,
) -> OpenSetScores:
    """scores: [mated, gallery] score matrix; non_mated_scores: [non_mated, gallery]. Scores are held
    in float64 so that a threshold "just above" a score survives comparison."""
    scores = np.asarray(scores, dtype=np.float64)
    non_mated_scores = np.asarray(non_mated_scores, dtype=np.float64)
    masked = np.where(gallery_ok[None, :], scores, -np.inf)
    own = masked[np.arange(len(masked)), mated_gallery_index].copy()
    other = masked.copy()
    other[np.arange(len(other)), mated_gallery_index] = -np.inf
    best_other = other.max(axis=1) if other.shape[1] else np.full(len(other), -np.inf)
    own[~mated_ok] = -np.inf
    best_other[~mated_ok] = -np.inf
    nm = np.where(gallery_ok[None, :], non_mated_scores, -np.inf)
    nm_best = nm.max(axis=1) if nm.shape[1] else np.full(len(nm), -np.inf)
    nm_best[~non_mated_ok] = -np.inf
    return OpenSetScores(best_other, own, nm_best)


def tpir_at(s: OpenSetScores, threshold: float) -> float:
    hits = (s.mated_own >= threshold) & (s.mated_own > s.mated_best_other)
    return float(np.mean(hits)) if len(hits) else 0.0


def fpir_at(s: OpenSetScores, threshold: float) -> float:
    return float(np.mean(s.non_mated_best >= threshold)) if len(s.non_mated_best) else 0.0


def threshold_for_fpir(non_mated_best: Float64Array, target: float) -> tuple[float, bool, int]:
    """(threshold, resolvable, false alarms allowed)."""
    finite = np.sort(non_mated_best[np.isfinite(non_mated_best)])[::-1]
    n = len(non_mated_best)
    allowed = int(np.floor(target * n + 1e-9))
    resolvable = allowed >= 1
    if len(finite) <= allowed:
        return (float(finite[-1]) if len(finite) else -1.0), resolvable, allowed
    # strictly above the (allowed+1)-th highest non-mated score
    return float(np.nextafter(finite[allowed], np.inf)), resolvable, allowed


def summarise(s: OpenSetScores) -> tuple[dict[str, float], dict[str, FpirThreshold]]:
    tpir: dict[str, float] = {}
    thresholds: dict[str, FpirThreshold] = {}
    for key in TARGET_FPIRS:
        threshold, resolvable, allowed = threshold_for_fpir(s.non_mated_best, float(key))
        tpir[key] = round(tpir_at(s, threshold), 5)
        thresholds[key] = {
            "threshold": round(threshold, 6), "observed_fpir": round(fpir_at(s, threshold), 6),
            "false_alarms_allowed": allowed, "resolvable": resolvable,
        }
    return tpir, thresholds


def det_curve(s: OpenSetScores, points: int = 400) -> tuple[Float64Array, Float64Array]:
    """(FPIR, FNIR) over thresholds spanning the observed scores."""
    finite = np.concatenate([s.non_mated_best, s.mated_own])
    finite = finite[np.isfinite(finite)]
    grid = np.quantile(finite, np.linspace(0, 1, points)) if len(finite) else np.array([0.0])
    fpir = np.array([fpir_at(s, t) for t in grid])
    fnir = np.array([1 - tpir_at(s, t) for t in grid])
    return fpir, fnir
