"""Inference settings: backend selection from the environment, validated at start-up."""

from __future__ import annotations

import pytest
from lfr_inference.settings import InferenceSettings
from lfr_platform.settings import ConfigurationError


def test_defaults_run_onnxruntime_in_process(monkeypatch):
    monkeypatch.delenv("LFR_INFERENCE_BACKEND", raising=False)
    settings = InferenceSettings.load()
    assert settings.inference_backend == "onnxruntime" and settings.grpc_port == 9103
    assert settings.data_key_cache_seconds <= 60


def test_triton_is_chosen_by_environment(monkeypatch):
    monkeypatch.setenv("LFR_INFERENCE_BACKEND", "triton")
    monkeypatch.setenv("LFR_TRITON_URL", "triton:8001")
    monkeypatch.setenv(
        "LFR_GRPC_TARGETS", '{"deployments": "deployments:9101", "watchlists": "watchlists:9102"}'
    )
    settings = InferenceSettings.load()
    assert (settings.inference_backend, settings.triton_url) == ("triton", "triton:8001")
    assert settings.grpc_targets["watchlists"] == "watchlists:9102"


@pytest.mark.parametrize(
    ("name", "value"),
    [("LFR_INFERENCE_BACKEND", "tensorrt"), ("LFR_DATA_KEY_CACHE_SECONDS", "300"), ("LFR_FRAMES_SLOTS", "2")],
)
def test_bad_values_fail_fast_naming_the_variable(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=name):
        InferenceSettings.load()
