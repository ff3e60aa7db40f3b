"""``lfr eval``: the project's own accuracy tools (LFW-protocol verification, open-set 1:N).

JSON goes to stdout (``--json``) or a short summary otherwise; progress bars go to stderr.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from lfr_inference.arrays import BoolArray, Float32Array, Float64Array, IndexArray
from lfr_inference.eval import datasets, identification, plots, verification
from lfr_inference.eval.extract import DEFAULT_CACHE, Extractor, FaceRecord, embeddings_of
from lfr_inference.eval.scoring import SCORE_KINDS, gallery_scores
from lfr_inference.vision.calibration import fit_calibration
from lfr_inference.vision.embedder import MODEL_VERSION

eval_app = typer.Typer(help="Accuracy evaluation (LFW protocol, open-set 1:N).", no_args_is_help=True)

Images = Annotated[
    Path, typer.Option("--images", exists=True, file_okay=False, help="<identity>/<image> folder")
]
AsJson = Annotated[bool, typer.Option("--json", help="print the result as JSON")]
Pipeline = Annotated[str, typer.Option(help="lfr (MTCNN + our alignment) or dlib (HOG + 5-point)")]
Flip = Annotated[bool, typer.Option("--flip/--no-flip", help="average the embeddings of chip and mirror")]
CacheDir = Annotated[Path, typer.Option(help="embedding cache")]


def _records(extractor: Extractor, paths: list[Path], label: str) -> list[FaceRecord]:
    from tqdm import tqdm

    with tqdm(total=len(paths), desc=label, unit="img", file=sys.stderr, disable=None) as bar:
        return extractor.records(paths, progress=bar.update)


def _emit(result: dict[str, Any], as_json: bool, summary: str) -> None:
    if as_json:
        typer.echo(json.dumps(result, indent=1))
    else:
        typer.echo(summary)


@eval_app.command()
def verify(
    pairs: Annotated[Path, typer.Option("--pairs", exists=True, dir_okay=False, help="LFW pairs file")],
    images: Images,
    as_json: AsJson = False,
    pipeline: Pipeline = "lfr",
    flip: Flip = True,
    roc_png: Annotated[Path | None, typer.Option(help="ROC plot (default: next to the cache)")] = None,
    cache_dir: CacheDir = DEFAULT_CACHE,
) -> None:
    """LFW-protocol verification: 10-fold accuracy, threshold chosen on the other nine folds."""
    pair_list = datasets.read_pairs(pairs, images)
    paths = sorted({p.first for p in pair_list} | {p.second for p in pair_list})
    extractor = Extractor(pipeline, cache_dir=cache_dir)
    records = dict(zip(paths, _records(extractor, paths, f"embedding ({pipeline})"), strict=True))
    use_flip = flip and pipeline == "lfr"
    vectors = {path: embeddings_of([rec], flip=use_flip)[0] for path, rec in records.items()}
    scores = np.array([float(vectors[p.first] @ vectors[p.second]) for p in pair_list])
    # LFW protocol: every pair gets a decision; a pair with an undetected face scores -1 (different)
    missing = [not (records[p.first].found and records[p.second].found) for p in pair_list]
    scores[np.array(missing)] = -1.0
    same = np.array([p.same for p in pair_list])
    folds = np.array([p.fold for p in pair_list])
    result_v = verification.ten_fold(scores, same, folds)
    roc_png = roc_png or cache_dir / f"roc-{pipeline}.png"
    plots.roc_png(scores, same, roc_png, label=f"{pipeline} ({extractor.detector_name})")
    result = {
        "accuracy": round(result_v.accuracy, 5), "std": round(result_v.std, 5),
        "folds": [round(a, 5) for a in result_v.fold_accuracies],
        "fold_thresholds": [round(t, 5) for t in result_v.fold_thresholds],
        "threshold": round(result_v.threshold, 5), "pairs": len(pair_list),
        "roc_png": str(roc_png), "auc": round(result_v.auc, 6), "tar_at_far": result_v.tar_at_far,
        "pipeline": pipeline, "detector": extractor.detector_name, "flip": flip and pipeline == "lfr",
        "score": "cosine", "model_version": MODEL_VERSION,
        "images": len(paths), "faces_not_found": sum(not r.found for r in records.values()),
        "pairs_with_missing_face": int(sum(missing)),
    }
    summary = f"accuracy {result['accuracy']:.4f} ± {result['std']:.4f} on {len(pair_list)} pairs"
    _emit(result, as_json, summary)


def _score_matrices(
    protocol: datasets.IdentificationSet, records: dict[Path, FaceRecord], flip: bool, kind: str,
) -> tuple[Float64Array, Float64Array, IndexArray, BoolArray, BoolArray, BoolArray]:
    """(mated x gallery scores, non-mated x gallery scores, mate index, gallery/mated/non-mated found)."""
    gallery_ids = [identity for identity, _ in protocol.gallery]
    index_of = {identity: i for i, identity in enumerate(gallery_ids)}
    g_recs = [records[p] for _, p in protocol.gallery]
    m_recs = [records[p] for _, p in protocol.mated]
    n_recs = [records[p] for _, p in protocol.non_mated]
    gallery = embeddings_of(g_recs, flip)
    gallery_ok = np.array([r.found for r in g_recs])
    return (
        gallery_scores(embeddings_of(m_recs, flip), gallery, gallery_ok, kind),
        gallery_scores(embeddings_of(n_recs, flip), gallery, gallery_ok, kind),
        np.array([index_of[i] for i, _ in protocol.mated], dtype=np.int64),
        gallery_ok, np.array([r.found for r in m_recs]), np.array([r.found for r in n_recs]),
    )


def _identify_scores(
    protocol: datasets.IdentificationSet, records: dict[Path, FaceRecord], flip: bool, kind: str,
) -> identification.OpenSetScores:
    mated, non_mated, mate, g_ok, m_ok, n_ok = _score_matrices(protocol, records, flip, kind)
    return identification.open_set_scores(mated, mate, non_mated, g_ok, m_ok, n_ok)


def _protocol_impostor_genuine(
    protocol: datasets.IdentificationSet, records: dict[Path, FaceRecord], flip: bool, kind: str,
) -> tuple[Float32Array, Float32Array]:
    """Every probe-vs-gallery comparison of the protocol: non-mated probes against all entries and
    mated probes against all other entries are impostor comparisons; mated against own are genuine."""
    mated, non_mated, mate, g_ok, m_ok, n_ok = _score_matrices(protocol, records, flip, kind)
    own = np.zeros_like(mated, dtype=bool)
    own[np.arange(len(mated)), mate] = True
    valid_m = m_ok[:, None] & g_ok[None, :]
    impostors = np.concatenate([mated[valid_m & ~own], non_mated[n_ok[:, None] & g_ok[None, :]]])
    return impostors.astype(np.float32), mated[valid_m & own].astype(np.float32)


def _subgroups(
    protocol: datasets.IdentificationSet, scores: identification.OpenSetScores,
    thresholds: dict[str, identification.FpirThreshold], groups: dict[str, str],
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    mated_group = np.array([groups.get(i, "unknown") for i, _ in protocol.mated])
    nm_group = np.array([groups.get(i, "unknown") for i, _ in protocol.non_mated])
    for group in sorted(set(mated_group) | set(nm_group)):
        m, n = mated_group == group, nm_group == group
        part = identification.OpenSetScores(scores.mated_best_other[m], scores.mated_own[m],
                                            scores.non_mated_best[n])
        out[group] = {
            "mated_probes": int(m.sum()), "non_mated_probes": int(n.sum()),
            "tpir_at_fpir": {k: round(identification.tpir_at(part, t["threshold"]), 5)
                             for k, t in thresholds.items()},
            "fpir_at_threshold": {k: round(identification.fpir_at(part, t["threshold"]), 6)
                                  for k, t in thresholds.items()},
        }
    return out


def _impostor_genuine(
    records: list[FaceRecord], identities: list[str], flip: bool
) -> tuple[Float32Array, Float32Array]:
    """All cross-identity (impostor) and same-identity (genuine) cosine scores of detected faces."""
    ok = [i for i, r in enumerate(records) if r.found]
    matrix = embeddings_of([records[i] for i in ok], flip)
    labels = np.array([identities[i] for i in ok])
    _, codes = np.unique(labels, return_inverse=True)
    impostors, genuines = [], []
    for start in range(0, len(ok), 1024):
        block = matrix[start : start + 1024] @ matrix.T
        rows = np.arange(start, min(start + 1024, len(ok)))
        upper = np.arange(len(ok))[None, :] > rows[:, None]  # each unordered pair once
        same = codes[rows][:, None] == codes[None, :]
        impostors.append(block[upper & ~same].astype(np.float32))
        genuines.append(block[upper & same].astype(np.float32))
    return np.concatenate(impostors), np.concatenate(genuines)


@eval_app.command()
def identify(
    images: Images,
    as_json: AsJson = False,
    groups: Annotated[
        Path | None, typer.Option(exists=True, help="identity,group CSV for subgroup tables")
    ] = None,
    flip: Flip = True,
    score: Annotated[str, typer.Option(help=f"comparison score: {', '.join(SCORE_KINDS)}")] = "cosine",
    baseline: Annotated[bool, typer.Option("--baseline/--no-baseline", help="also run raw dlib")] = True,
    det_png: Annotated[Path | None, typer.Option(help="DET plot (default: next to the cache)")] = None,
    calibration_out: Annotated[
        Path | None, typer.Option(help="write the calibration table JSON here")
    ] = None,
    cache_dir: CacheDir = DEFAULT_CACHE,
) -> None:
    """Open-set 1:N: TPIR at FPIR 1e-2, 1e-3, 1e-4 against the raw dlib pipeline on the same images."""
    protocol = datasets.identification_set(images)
    paths = sorted({p for _, p in protocol.gallery + protocol.mated + protocol.non_mated})
    ours = Extractor("lfr", cache_dir=cache_dir)
    records = dict(zip(paths, _records(ours, paths, "embedding (lfr)"), strict=True))
    scores = _identify_scores(protocol, records, flip, score)
    tpir, thresholds = identification.summarise(scores)
    label = f"lfr ({ours.detector_name}{', flip' if flip else ''}, {score})"
    curves = {label: identification.det_curve(scores)}
    result: dict[str, Any] = {
        "tpir_at_fpir": tpir, "thresholds": thresholds,
        "pipeline": "lfr", "detector": ours.detector_name, "flip": flip, "score": score,
        "model_version": MODEL_VERSION,
        "gallery_size": len(protocol.gallery), "mated_probes": len(protocol.mated),
        "non_mated_probes": len(protocol.non_mated),
        "faces_not_found": sum(not r.found for r in records.values()),
        "rank1_hit_rate": round(float(np.mean(scores.mated_own > scores.mated_best_other)), 5),
    }
    if baseline:
        raw = Extractor("dlib", cache_dir=cache_dir)
        base_records = dict(zip(paths, _records(raw, paths, "embedding (dlib baseline)"), strict=True))
        base_scores = _identify_scores(protocol, base_records, False, "cosine")
        base_tpir, base_thresholds = identification.summarise(base_scores)
        result["baseline"] = {
            "tpir_at_fpir": base_tpir, "thresholds": base_thresholds, "pipeline": "dlib",
            "detector": "dlib-hog", "flip": False, "score": "cosine",
            "faces_not_found": sum(not r.found for r in base_records.values()),
            "rank1_hit_rate": round(float(np.mean(base_scores.mated_own > base_scores.mated_best_other)), 5),
        }
        curves["dlib baseline (HOG + 5-point, cosine)"] = identification.det_curve(base_scores)
    result["subgroups"] = (
        _subgroups(protocol, scores, thresholds, datasets.read_groups(groups)) if groups else {}
    )
    det_png = det_png or cache_dir / "det-identify.png"
    plots.det_png(curves, det_png)
    result["det_png"] = str(det_png)
    if calibration_out is not None:
        if score == "cosine":  # every cross-identity pair of images is an impostor comparison
            identities = [p.parent.name for p in paths]
            impostors, genuines = _impostor_genuine([records[p] for p in paths], identities, flip)
            how = "all image pairs"
        else:  # normalised scores only exist against a gallery: use the protocol's comparisons
            impostors, genuines = _protocol_impostor_genuine(protocol, records, flip, score)
            how = "probe x gallery comparisons of the open-set protocol"
        calibration = fit_calibration(
            impostors, genuines, MODEL_VERSION, score, flip_average=flip,
            source=f"{images.name}: {len(paths)} images, {how}, pipeline lfr ({ours.detector_name})",
        )
        calibration.save(calibration_out)
        result["calibration"] = {"path": str(calibration_out), "impostor_comparisons": len(impostors),
                                 "genuine_comparisons": len(genuines)}
    _emit(result, as_json, f"TPIR@FPIR {tpir}" + (f"  baseline {result['baseline']['tpir_at_fpir']}"
                                                   if baseline else ""))
