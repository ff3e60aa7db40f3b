"""LFW-protocol verification: 10-fold accuracy with the threshold chosen on the other nine folds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lfr_inference.arrays import BoolArray, Float64Array, FloatArray, Int64Array


@dataclass(frozen=True)
class VerificationResult:
    accuracy: float
    std: float
    fold_accuracies: list[float]
    fold_thresholds: list[float]
    threshold: float  # chosen on all pairs (for information)
    auc: float
    tar_at_far: dict[str, float]


def best_threshold(scores: FloatArray, same: BoolArray) -> float:
    """The threshold maximising accuracy (midpoint between adjacent sorted scores)."""
    order = np.sort(np.unique(scores))
    candidates = np.concatenate([[order[0] - 1e-6], (order[1:] + order[:-1]) / 2, [order[-1] + 1e-6]])
    # accuracy at each candidate: predicted same = score >= t
    pos = np.sort(scores[same])
    neg = np.sort(scores[~same])
    true_pos = len(pos) - np.searchsorted(pos, candidates, side="left")
    true_neg = np.searchsorted(neg, candidates, side="left")
    accuracy = (true_pos + true_neg) / len(scores)
    return float(candidates[int(np.argmax(accuracy))])


def roc(scores: FloatArray, same: BoolArray) -> tuple[Float64Array, Float64Array, Float64Array]:
    """(false accept rate, true accept rate, thresholds), thresholds descending."""
    order = np.argsort(-scores, kind="stable")
    labels = same[order]
    tps = np.cumsum(labels)
    fps = np.cumsum(~labels)
    tar = tps / max(1, labels.sum())
    far = fps / max(1, (~labels).sum())
    thresholds = np.concatenate([[np.inf], scores[order]])
    return np.concatenate([[0.0], far]), np.concatenate([[0.0], tar]), thresholds


def ten_fold(scores: FloatArray, same: BoolArray, folds: Int64Array) -> VerificationResult:
    accuracies, thresholds = [], []
    for fold in np.unique(folds):
        train, test = folds != fold, folds == fold
        threshold = best_threshold(scores[train], same[train])
        predicted = scores[test] >= threshold
        accuracies.append(float(np.mean(predicted == same[test])))
        thresholds.append(threshold)
    far, tar, _ = roc(scores, same)
    auc = float(np.sum(np.diff(far) * (tar[1:] + tar[:-1]) / 2))  # trapezoid rule
    tar_at = {}
    for target in (1e-2, 1e-3):
        ok = far <= target
        tar_at[str(target)] = float(tar[ok].max()) if ok.any() else 0.0
    return VerificationResult(
        accuracy=float(np.mean(accuracies)), std=float(np.std(accuracies)),
        fold_accuracies=accuracies, fold_thresholds=thresholds,
        threshold=best_threshold(scores, same), auc=auc, tar_at_far=tar_at,
    )
