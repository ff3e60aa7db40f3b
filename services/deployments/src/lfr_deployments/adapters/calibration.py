"""The calibration table the inference helpers ship as JSON, read once at start-up.

Shape: {"model_version": str, "rows": [{"threshold": float, "fmr": float,
        "false_alerts_per_1000": {"100": float, "1000": float, "10000": float, "15000": float}}]}
"""

from __future__ import annotations

import json
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lfr_platform.errors import DomainRuleViolation

_TOLERANCE = 1e-9


@dataclass(frozen=True)
class _Row:
    threshold: float
    fmr: float
    sizes: tuple[int, ...]  # ascending watchlist sizes
    rates: tuple[float, ...]  # false alerts per 1,000 faces at each size


class JsonCalibrationTable:
    def __init__(self, model_version: str, rows: list[_Row]) -> None:
        if not rows:
            raise ValueError("a calibration table needs at least one row")
        self._model_version = model_version
        self._rows = sorted(rows, key=lambda r: r.threshold)

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> JsonCalibrationTable:
        rows = []
        for row in raw["rows"]:
            points = sorted((int(size), float(rate)) for size, rate in row["false_alerts_per_1000"].items())
            rows.append(_Row(float(row["threshold"]), float(row["fmr"]),
                             tuple(p[0] for p in points), tuple(p[1] for p in points)))
        return cls(str(raw["model_version"]), rows)

    @classmethod
    def load(cls, path: Path) -> JsonCalibrationTable:
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))

    @property
    def model_version(self) -> str:
        return self._model_version

    def expected_false_alerts_per_1000(self, threshold: float, watchlist_size: int) -> float:
        return _rate_at_size(self._row_for(threshold), watchlist_size)

    def _row_for(self, threshold: float) -> _Row:
        """The row at the threshold, else the nearest calibrated row below it: a lower threshold only
        raises false alerts, so the estimate errs on the side of refusing."""
        thresholds = [r.threshold for r in self._rows]
        index = bisect_right(thresholds, threshold + _TOLERANCE) - 1
        if index < 0:
            raise DomainRuleViolation(
                f"threshold {threshold:.2f} is below the model's calibrated range "
                f"(lowest {thresholds[0]:.2f}): its false alert rate is unknown",
                code="threshold_outside_calibration",
                details={"threshold": threshold, "lowest_calibrated": thresholds[0]},
            )
        return self._rows[index]


def _rate_at_size(row: _Row, size: int) -> float:
    """Piecewise-linear in watchlist size through (0, 0) and the calibrated sizes. Beyond the largest
    size it scales proportionally, an upper bound since 1-(1-p)^n <= n*p."""
    if size <= 0:
        return 0.0
    sizes, rates = (0, *row.sizes), (0.0, *row.rates)
    if size >= sizes[-1]:
        return rates[-1] * size / sizes[-1]
    upper = bisect_right(sizes, size)
    lower = upper - 1
    fraction = (size - sizes[lower]) / (sizes[upper] - sizes[lower])
    return rates[lower] + fraction * (rates[upper] - rates[lower])
