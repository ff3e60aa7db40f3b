"""The JSON calibration adapter: exact rows, interpolation over watchlist size, conservative thresholds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from lfr_deployments.adapters.calibration import JsonCalibrationTable
from lfr_platform.errors import DomainRuleViolation

TABLE = {
    "model_version": "arcface-r100-2026.11",
    "rows": [
        {"threshold": 0.55, "fmr": 4e-6,
         "false_alerts_per_1000": {"100": 0.4, "1000": 4.0, "10000": 39.0, "15000": 58.0}},
        {"threshold": 0.60, "fmr": 1.7e-7,
         "false_alerts_per_1000": {"100": 0.017, "1000": 0.17, "10000": 1.7, "15000": 2.55}},
        {"threshold": 0.65, "fmr": 1e-8,
         "false_alerts_per_1000": {"15000": 0.15, "100": 0.001, "1000": 0.01, "10000": 0.1}},
    ],
}


@pytest.fixture
def table(tmp_path: Path) -> JsonCalibrationTable:
    path = tmp_path / "calibration.json"
    path.write_text(json.dumps(TABLE))
    return JsonCalibrationTable.load(path)


@pytest.mark.parametrize(
    ("threshold", "size", "expected"),
    [
        (0.60, 1000, 0.17),  # a calibrated point
        (0.60, 5500, 0.17 + (1.7 - 0.17) * 0.5),  # halfway between 1,000 and 10,000
        (0.60, 50, 0.0085),  # below the smallest size: linear through zero
        (0.60, 0, 0.0),
        (0.60, 30000, 5.1),  # beyond the largest size: proportional
        (0.65, 10000, 0.1),  # sizes given out of order in the file
        (0.62, 10000, 1.7),  # between rows: the lower threshold's (higher) rate
        (0.90, 100, 0.001),  # above the table: the highest calibrated row
    ],
)
def test_expected_false_alerts(table: JsonCalibrationTable, threshold: float, size: int,
                               expected: float) -> None:
    assert table.expected_false_alerts_per_1000(threshold, size) == pytest.approx(expected)


def test_model_version(table: JsonCalibrationTable) -> None:
    assert table.model_version == "arcface-r100-2026.11"


def test_threshold_below_calibrated_range_is_refused(table: JsonCalibrationTable) -> None:
    with pytest.raises(DomainRuleViolation) as refused:
        table.expected_false_alerts_per_1000(0.50, 100)
    assert refused.value.code == "threshold_outside_calibration"
