"""`lfr bench inference` runs end to end (scaled down) and keeps its JSON keys; no speed is asserted."""

from __future__ import annotations

import pytest
from lfr_inference.bench_inference import load_frames, run_inference_bench

STABLE_KEYS = {"faces_per_s_batch1", "faces_per_s_batch32", "baseline_faces_per_s", "ratio", "backend"}


def test_frames_are_scaled_to_cctv_size(face_images_dir):
    frames = load_frames(face_images_dir)
    assert len(frames) >= 4 and all(max(f.shape[:2]) <= 640 for f in frames)


def test_bench_reports_its_stable_keys(face_images_dir):
    pytest.importorskip("dlib")  # the face_recognition baseline is a dev dependency only
    result = run_inference_bench(face_images_dir, min_seconds=0.01, match_sizes=(15_000,))
    assert STABLE_KEYS | {"match_ms_15k"} <= result.keys()
    assert result["faces_per_s_batch1"] > 0 and result["faces_per_s_batch32"] > 0
    assert result["baseline_faces_per_s"] > 0 and result["backend"] == "onnxruntime"
