"""ROC and DET plots as PNG (matplotlib, headless)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lfr_inference.arrays import BoolArray, Float64Array, FloatArray


def _headless() -> None:
    # Imported on first plot: matplotlib is slow to import and only the evaluation CLI draws.
    import matplotlib

    matplotlib.use("Agg")


def roc_png(scores: FloatArray, same: BoolArray, path: Path, label: str) -> None:
    from lfr_inference.eval.verification import roc

    far, tar, _ = roc(scores, same)
    _headless()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    ax.semilogx(np.maximum(far, 1e-5), tar, label=label)
    ax.set_xlabel("false accept rate")
    ax.set_ylabel("true accept rate")
    ax.set_xlim(1e-4, 1)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right")
    ax.set_title("Verification ROC")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)


def det_png(curves: dict[str, tuple[Float64Array, Float64Array]], path: Path) -> None:
    _headless()
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 4), dpi=100)
    for label, (fpir, fnir) in curves.items():
        ax.loglog(np.maximum(fpir, 1e-5), np.maximum(fnir, 1e-4), label=label)
    ax.set_xlabel("FPIR (false positive identification rate)")
    ax.set_ylabel("FNIR (false negative identification rate)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="upper right", fontsize=7)
    ax.set_title("Open-set 1:N DET")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, bbox_inches="tight", metadata={"Software": None})
    plt.close(fig)
