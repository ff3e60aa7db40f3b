"""Inference settings: backend selection from the environment, validated at start-up."""

from __future__ import annotations

import pytest
from lfr_inference.settings import InferenceSettings
from lfr_platform.settings import ConfigurationError

from tests.fixtures.pki import Pki


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


PRODUCTION = {"environment": "production", "auth": {"mode": "oidc", "jwks_url": "https://idp.example/jwks"}}


@pytest.fixture
def mutual(tmp_path):
    """The service's LFR_GRPC_TLS__* files: its certificate and key, and the peers' CA."""
    pki = Pki(tmp_path)
    cert, key = pki.issue("inference", server=False)
    return {"cert_file": cert, "key_file": key, "ca_file": pki.ca_file}


def test_production_refuses_plaintext_to_triton(mutual):
    triton = {"inference_backend": "triton", "triton_url": "triton:8001"}
    with pytest.raises(
        ConfigurationError, match="LFR_TRITON_URL=triton:8001: plaintext gRPC to Triton refused"
    ):
        InferenceSettings.load(grpc_port=0, **triton, **PRODUCTION)  # no gRPC server: only Triton to refuse
    settings = InferenceSettings.load(grpc_tls=mutual, **triton, **PRODUCTION)
    assert settings.grpc_tls.enabled and settings.triton_url == "triton:8001"
    assert InferenceSettings.load(**triton).inference_backend == "triton"  # development: `lfr up`, tests


def test_production_refuses_in_process_models_it_does_not_have(tmp_path, mutual):
    with pytest.raises(ConfigurationError) as error:
        InferenceSettings.load(model_repository=tmp_path, grpc_tls=mutual, **PRODUCTION)
    assert "LFR_INFERENCE_BACKEND=onnxruntime runs the models in this process" in str(error.value)
    assert "face_embedder" in str(error.value)
    # This checkout has deploy/triton: a production process run from it may use it.
    assert InferenceSettings.load(grpc_tls=mutual, **PRODUCTION).inference_backend == "onnxruntime"


def test_production_refuses_to_run_without_its_calibration_table(tmp_path, mutual):
    with pytest.raises(ConfigurationError, match="LFR_CALIBRATION_FILE: no calibration table at"):
        InferenceSettings.load(calibration_file=tmp_path / "missing.json", grpc_tls=mutual, **PRODUCTION)
