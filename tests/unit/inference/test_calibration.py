"""Calibrated scores and the calibration table: meaning, monotonicity, JSON round trip."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from lfr_inference.vision.calibration import (
    Calibration,
    calibrated_to_fmr,
    default_calibration_path,
    false_alerts_per_1000,
    fit_calibration,
)
from lfr_inference.vision.embedder import MODEL_VERSION


@pytest.fixture(scope="module")
def fitted() -> Calibration:
    rng = np.random.default_rng(11)
    impostors = rng.normal(0.2, 0.1, 2_000_000)
    genuines = rng.normal(0.8, 0.08, 5_000)
    return fit_calibration(impostors, genuines, "test-v1", "cosine", source="synthetic normal scores")


def test_calibrated_score_means_minus_log10_fmr_over_ten(fitted):
    rng = np.random.default_rng(12)
    fresh = rng.normal(0.2, 0.1, 2_000_000)
    for threshold in (0.2, 0.3, 0.4, 0.5):  # empirically supported region (FMR >= 1e-5)
        raw = fitted.raw_threshold(threshold)
        measured = float(np.mean(fresh >= raw))
        assert measured == pytest.approx(calibrated_to_fmr(threshold), rel=0.25)


def test_mapping_is_monotone_and_bounded(fitted):
    raw = np.linspace(-1, 1, 2001)
    calibrated = fitted.calibrated(raw)
    assert np.all(np.diff(calibrated) >= 0)
    assert calibrated.min() >= 0.0 and calibrated.max() <= 1.0
    assert fitted.calibrated_one(fitted.raw_threshold(0.6)) == pytest.approx(0.6, abs=1e-4)


def test_rows_flag_extrapolation_beyond_the_statistical_floor(fitted):
    rows = {round(r.threshold, 2): r for r in fitted.rows}
    assert rows[0.4].extrapolated is False  # 1e-4 x 2e6 = 200 impostor pairs above
    assert rows[0.7].extrapolated is True  # 1e-7 x 2e6 = 0.2: cannot be measured
    assert rows[0.7].impostor_pairs_above <= 3
    assert rows[0.3].tmr is not None and rows[0.3].tmr > rows[0.9].tmr  # type: ignore[operator]


def test_false_alerts_follow_one_minus_survival_over_the_watchlist():
    assert false_alerts_per_1000(1e-6, 1000) == pytest.approx(1000 * (1 - (1 - 1e-6) ** 1000), rel=1e-9)
    assert false_alerts_per_1000(1e-6, 15_000) == pytest.approx(14.888, rel=1e-3)
    assert false_alerts_per_1000(0.5, 100) == pytest.approx(1000.0)


def test_json_round_trip_and_deployments_shape(fitted, tmp_path):
    path = tmp_path / "cal.json"
    fitted.save(path)
    raw = json.loads(path.read_text())
    # the keys the deployments service reads
    assert raw["model_version"] == "test-v1"
    row = raw["rows"][0]
    assert {"threshold", "fmr", "false_alerts_per_1000"} <= row.keys()
    assert set(row["false_alerts_per_1000"]) == {"100", "1000", "10000", "15000"}
    again = Calibration.load(path)
    assert again.knots_raw == pytest.approx(fitted.knots_raw, abs=1e-6)
    assert again.expected_false_alerts_per_1000(0.6, 1000) == pytest.approx(
        -1000 * math.expm1(1000 * math.log1p(-1e-6)))


@pytest.mark.parametrize(("suffix", "kind", "raw_range"), [
    ("", "cosine", (0.8, 0.999)),  # the default score: a cosine far above the impostor bulk
    ("-snorm", "snorm", (3.0, 12.0)),  # S-norm scores are in cohort standard deviations
])
def test_shipped_calibrations_for_the_current_model_load_and_are_sane(suffix, kind, raw_range):
    calibration = Calibration.load(default_calibration_path(MODEL_VERSION + suffix))
    assert calibration.model_version == MODEL_VERSION
    assert calibration.score_kind == kind  # the key the service picks a table by (Gallery.score_kind)
    assert calibration.flip_average is True
    assert calibration.impostor_comparisons >= 1_000_000
    assert raw_range[0] < calibration.raw_threshold(0.6) < raw_range[1]
    assert calibration.calibrated_one(-1e6) == 0.0
    rows = {round(r.threshold, 2): r for r in calibration.rows}
    assert rows[0.6].false_alerts[1000] == pytest.approx(1.0, rel=0.01)
