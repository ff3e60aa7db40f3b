"""Calibrated match scores and the calibration table shipped with each embedder version.

Meaning of the calibrated score (fixed per model version): ``score = -log10(FMR) / 10`` clipped to
[0, 1], where FMR is the per-comparison false match rate at that raw similarity, measured on an
impostor distribution (``lfr eval identify --calibration-out``). So 0.5 means "one impostor
comparison in 100,000 scores this high", 0.6 (the platform default threshold) one in a million, 0.7
one in ten million. Higher always means more alike; the mapping from raw cosine is monotone,
piecewise linear between the knots stored in the JSON.

A 1:N search of one face against a watchlist of N entries raises a false alert when any of its N
impostor comparisons passes the threshold: ``false alerts per 1,000 faces = 1000 * (1 - (1 - FMR)^N)``.

FMRs below the statistical floor of the calibration set (about 3 / number of impostor comparisons)
cannot be measured; they are extrapolated from an exponential fit to the impostor tail and flagged
``"extrapolated": true`` in the table. Consumers (the authorisation form) should say so.

JSON shape (a superset of what the deployments service reads):
``{"model_version", "score_kind" ("cosine" | "snorm", as Gallery.score_kind), "flip_average",
"knots": {"raw": [...], "calibrated": [...]}, "rows": [{"threshold", "raw_threshold", "fmr",
"extrapolated", "impostor_pairs_above", "fmr_upper_95", "tmr", "false_alerts_per_1000": {"100": ..,
"1000": .., "10000": .., "15000": ..}}], "impostor_comparisons", "genuine_comparisons", "source",
"notes"}``
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import numpy as np

from lfr_inference.arrays import Float32Array, Float64Array, FloatArray

DEFAULT_THRESHOLD = 0.6
WATCHLIST_SIZES = (100, 1000, 10_000, 15_000)
CALIBRATED_PER_DECADE = 0.1  # one decade of FMR per 0.1 of calibrated score


def fmr_to_calibrated(fmr: float) -> float:
    if fmr <= 0:
        return 1.0
    return float(min(1.0, max(0.0, -math.log10(fmr) * CALIBRATED_PER_DECADE)))


def calibrated_to_fmr(score: float) -> float:
    return float(10 ** (-score / CALIBRATED_PER_DECADE))


def false_alerts_per_1000(fmr: float, watchlist_size: int) -> float:
    """Expected false alerts per 1,000 faces searched against a watchlist of ``watchlist_size``."""
    # log1p/expm1 keep precision when fmr * N is tiny
    return float(-1000.0 * math.expm1(watchlist_size * math.log1p(-min(fmr, 1.0 - 1e-16))))


@dataclass(frozen=True)
class CalibrationRow:
    threshold: float  # calibrated
    raw_threshold: float
    fmr: float
    extrapolated: bool
    impostor_pairs_above: int
    fmr_upper_95: float
    tmr: float | None
    false_alerts: dict[int, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "threshold": round(self.threshold, 4),
            "raw_threshold": round(self.raw_threshold, 6),
            "fmr": self.fmr,
            "extrapolated": self.extrapolated,
            "impostor_pairs_above": self.impostor_pairs_above,
            "fmr_upper_95": self.fmr_upper_95,
            "tmr": None if self.tmr is None else round(self.tmr, 6),
            "false_alerts_per_1000": {str(n): v for n, v in self.false_alerts.items()},
        }


@dataclass(frozen=True)
class Calibration:
    model_version: str
    score_kind: str
    knots_raw: tuple[float, ...]
    knots_calibrated: tuple[float, ...]
    rows: tuple[CalibrationRow, ...] = ()
    impostor_comparisons: int = 0
    genuine_comparisons: int = 0
    source: str = ""
    notes: tuple[str, ...] = ()
    flip_average: bool = False  # embeddings were flip-averaged (chip + mirror) when this was fitted

    def __post_init__(self) -> None:
        raw, cal = np.asarray(self.knots_raw), np.asarray(self.knots_calibrated)
        if len(raw) < 2 or len(raw) != len(cal):
            raise ValueError("calibration needs at least two (raw, calibrated) knots")
        if np.any(np.diff(raw) <= 0) or np.any(np.diff(cal) < 0):
            raise ValueError("calibration knots must increase")

    @overload
    def calibrated(self, raw: float) -> np.float32: ...
    @overload
    def calibrated(self, raw: FloatArray) -> Float32Array: ...
    def calibrated(self, raw: FloatArray | float) -> Float32Array | np.float32:
        """Raw similarity (e.g. cosine) -> calibrated score in [0, 1]."""
        return np.interp(raw, self.knots_raw, self.knots_calibrated).astype(np.float32)

    def calibrated_one(self, raw: float) -> float:
        return float(self.calibrated(raw))

    def raw_threshold(self, threshold: float) -> float:
        """The raw similarity a calibrated threshold corresponds to (for vectorised gallery filters)."""
        return float(np.interp(threshold, self.knots_calibrated, self.knots_raw))

    def fmr_at(self, threshold: float) -> float:
        return calibrated_to_fmr(threshold)

    def expected_false_alerts_per_1000(self, threshold: float, watchlist_size: int) -> float:
        return false_alerts_per_1000(self.fmr_at(threshold), watchlist_size)

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_version": self.model_version,
            "score_kind": self.score_kind,
            "flip_average": self.flip_average,
            "definition": "calibrated = clip(-log10(per-comparison FMR) / 10, 0, 1); "
                          "false_alerts_per_1000 = 1000 * (1 - (1 - FMR)^N)",
            "default_threshold": DEFAULT_THRESHOLD,
            "knots": {"raw": [round(x, 6) for x in self.knots_raw],
                      "calibrated": [round(x, 6) for x in self.knots_calibrated]},
            "rows": [row.to_dict() for row in self.rows],
            "impostor_comparisons": self.impostor_comparisons,
            "genuine_comparisons": self.genuine_comparisons,
            "statistical_floor_fmr": (3.0 / self.impostor_comparisons) if self.impostor_comparisons else None,
            "source": self.source,
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> Calibration:
        rows = tuple(
            CalibrationRow(
                threshold=float(r["threshold"]), raw_threshold=float(r["raw_threshold"]),
                fmr=float(r["fmr"]), extrapolated=bool(r["extrapolated"]),
                impostor_pairs_above=int(r["impostor_pairs_above"]), fmr_upper_95=float(r["fmr_upper_95"]),
                tmr=None if r.get("tmr") is None else float(r["tmr"]),
                false_alerts={int(n): float(v) for n, v in r["false_alerts_per_1000"].items()},
            )
            for r in raw.get("rows", [])
        )
        return cls(
            model_version=str(raw["model_version"]), score_kind=str(raw.get("score_kind", "cosine")),
            knots_raw=tuple(float(x) for x in raw["knots"]["raw"]),
            knots_calibrated=tuple(float(x) for x in raw["knots"]["calibrated"]),
            rows=rows, impostor_comparisons=int(raw.get("impostor_comparisons", 0)),
            genuine_comparisons=int(raw.get("genuine_comparisons", 0)),
            source=str(raw.get("source", "")), notes=tuple(raw.get("notes", [])),
            flip_average=bool(raw.get("flip_average", False)),
        )

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Calibration:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))


def default_calibration_path(model_version: str) -> Path:
    """deploy/triton/calibration/<model_version>.json, found by walking up from this file. That file
    calibrates the default score (flip-averaged cosine); ``<model_version>-snorm.json`` calibrates the
    optional S-normalised score (``Gallery(normalise=True)``)."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "deploy" / "triton" / "calibration" / f"{model_version}.json"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no calibration shipped for model version {model_version!r}")


# ------------------------------------------------------------------------------------ fitting


def _tail_slope(sorted_impostors: Float64Array, floor_fmr: float, decades: float = 2.0) -> float:
    """Slope b of log10 S(x) ~ a + b x over the last ``decades`` of measurable FMR above the floor
    (an exponential tail, GPD shape 0). Extrapolation below the floor continues that line from the
    floor point, so the mapping stays continuous."""
    n = len(sorted_impostors)
    count = max(200, int(n * floor_fmr * 10**decades))
    tail = sorted_impostors[n - count :].astype(np.float64)
    survival = (count - np.arange(count)) / n
    use = survival >= floor_fmr
    slope = float(np.polyfit(tail[use], np.log10(survival[use]), 1)[0])
    if slope >= 0:
        raise ValueError("impostor tail does not decay; cannot extrapolate")
    return slope


def fit_calibration(
    impostor_scores: FloatArray,
    genuine_scores: FloatArray | None,
    model_version: str,
    score_kind: str,
    source: str,
    impostor_comparisons: int | None = None,
    min_exceedances: int = 10,
    notes: tuple[str, ...] = (),
    flip_average: bool = False,
) -> Calibration:
    """Fit the raw -> calibrated mapping and the table from impostor (and genuine) raw scores."""
    imp = np.sort(np.asarray(impostor_scores, dtype=np.float64))
    n = impostor_comparisons or len(imp)
    if len(imp) < 1000:
        raise ValueError("need at least 1,000 impostor comparisons to calibrate")
    empirical_floor = min_exceedances / n

    def empirical(fmr: float) -> float:
        index = int(np.clip(math.ceil(len(imp) * (1 - fmr)), 0, len(imp) - 1))
        return float(imp[index])

    slope = _tail_slope(imp, empirical_floor)
    floor_raw = empirical(empirical_floor)

    def raw_at_fmr(fmr: float) -> tuple[float, bool]:
        if fmr >= empirical_floor:
            return empirical(fmr), False
        return floor_raw + (math.log10(fmr) - math.log10(empirical_floor)) / slope, True

    cal_grid = np.round(np.arange(0.0, 1.0001, 0.025), 4)
    knots_raw: list[float] = []
    knots_cal: list[float] = []
    for c in cal_grid:
        raw, _ = raw_at_fmr(calibrated_to_fmr(float(c)))
        if knots_raw and raw <= knots_raw[-1]:
            continue
        knots_raw.append(raw)
        knots_cal.append(float(c))
    knots_raw[0] = min(knots_raw[0], -1.0)  # FMR 1 at and below the lowest impostor score

    genuine = None if genuine_scores is None else np.asarray(genuine_scores, dtype=np.float64)
    rows = []
    for threshold in np.round(np.arange(0.3, 0.951, 0.05), 4):
        fmr = calibrated_to_fmr(float(threshold))
        raw, extrapolated = raw_at_fmr(fmr)
        above = int(len(imp) - np.searchsorted(imp, raw, side="left"))
        rows.append(CalibrationRow(
            threshold=float(threshold), raw_threshold=raw, fmr=fmr, extrapolated=extrapolated,
            impostor_pairs_above=above, fmr_upper_95=_upper_95(above, n),
            tmr=None if genuine is None or len(genuine) == 0 else float(np.mean(genuine >= raw)),
            false_alerts={size: false_alerts_per_1000(fmr, size) for size in WATCHLIST_SIZES},
        ))
    return Calibration(
        model_version=model_version, score_kind=score_kind, knots_raw=tuple(knots_raw),
        knots_calibrated=tuple(knots_cal), rows=tuple(rows), impostor_comparisons=n,
        flip_average=flip_average,
        genuine_comparisons=0 if genuine is None else len(genuine), source=source,
        notes=(f"empirical FMR down to {empirical_floor:.2e} (>= {min_exceedances} impostor pairs "
               "above); below that, extrapolated along an exponential tail fitted to the two decades "
               "above the floor",) + notes,
    )


def _upper_95(k: int, n: int) -> float:
    """One-sided 95% upper bound on a rate with k events in n trials (rule of three at k = 0,
    Wilson score otherwise)."""
    if n == 0:
        return 1.0
    if k == 0:
        return 3.0 / n
    p, z = k / n, 1.645
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float(min(1.0, (centre + spread) / (1 + z * z / n)))


def calibration_for(model_version: str, gallery_score_kind: str) -> Calibration:
    """The shipped calibration matching a gallery's ``score_kind`` ("snorm" or "cosine")."""
    suffix = {"cosine": "", "snorm": "-snorm"}[gallery_score_kind]
    return Calibration.load(default_calibration_path(model_version + suffix))
