"""Configuration of the inference service (environment, prefix LFR_), validated at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from lfr_platform.settings import ServiceSettings
from pydantic import Field, model_validator

from lfr_inference.vision.backends import ALL_MODELS, default_model_repository, model_path
from lfr_inference.vision.calibration import default_calibration_path
from lfr_inference.vision.embedder import MODEL_VERSION


class InferenceSettings(ServiceSettings):
    service: str = "inference"
    http_port: int = 8103
    grpc_port: int = 9103
    # Peers' gRPC addresses (LFR_GRPC_TARGETS JSON): "deployments" (DataKeys), "watchlists" (Gallery).
    grpc_targets: dict[str, str] = Field(default_factory=dict)

    # Where the networks run: in-process onnxruntime (embedded default) or a Triton server over gRPC.
    inference_backend: Literal["onnxruntime", "triton"] = "onnxruntime"
    triton_url: str = "127.0.0.1:8001"  # LFR_TRITON_URL, e.g. triton:8001 in the cluster
    model_repository: Path | None = None  # default: the repository's deploy/triton
    onnx_intra_op_threads: int = Field(default=1, ge=1)
    onnx_parallelism: int | None = Field(default=None, ge=1)  # worker slices; default: CPU count
    calibration_file: Path | None = None  # default: deploy/triton/calibration/<model version>.json
    score_normalisation: bool = False  # S-norm for galleries >= 500 (needs its calibration table)

    # Topics (a prefix isolates test runs on a shared broker).
    events_topic: str = "lfr.inference.events.v1"
    deployments_topic: str = "lfr.deployments.events.v1"
    frames_topic: str = "lfr.ingest.frames.v1"  # base name of the rotating slot topics (<base>.s<k>)
    frames_slots: int = Field(default=3, ge=3)
    frames_slot_seconds: float = Field(default=20.0, gt=0)
    frames_partitions: int = Field(default=3, ge=1)
    consumer_group_prefix: str = ""

    # Latency first: take whatever frames are queued (up to this many) instead of waiting for a batch.
    max_frame_batch: int = Field(default=8, ge=1)
    frame_queue_size: int = Field(default=64, ge=1)  # beyond it the oldest frame is dropped (counted)
    max_backlog_per_camera: int = Field(default=2, ge=1)  # older frames of a camera give way (counted)
    max_frame_age_seconds: float = Field(default=5.0, gt=0)  # older frames are stale: dropped, counted
    data_key_cache_seconds: float = Field(default=30.0, gt=0, le=60)
    grpc_deadline_seconds: float = Field(default=5.0, gt=0)

    # Tracking and alerting.
    track_expiry_seconds: float = Field(default=2.0, gt=0)
    track_min_iou: float = Field(default=0.2, ge=0, le=1)
    match_top_k: int = Field(default=5, ge=1)
    crop_margin: float = Field(default=0.4, ge=0)  # context around the face box in the alert crop
    tally_interval_seconds: float = Field(default=10.0, gt=0)

    @model_validator(mode="after")
    def _production_has_its_models(self) -> Self:
        """Production refuses what `lfr up` tolerates: models or a calibration table that are not there
        (the service image holds only the Python packages, not deploy/triton), and face crops sent to
        Triton in clear text."""
        if self.environment != "production":
            return self
        problems = []
        if self.inference_backend == "onnxruntime":
            problems += self._in_process_models_problems()
        elif not self.grpc_tls.enabled:  # as lfr_platform.grpc_security refuses it for any peer
            problems.append(
                f"LFR_TRITON_URL={self.triton_url}: plaintext gRPC to Triton refused in production (face "
                "crops would cross the network in clear text); set LFR_GRPC_TLS__CA_FILE, "
                "LFR_GRPC_TLS__CERT_FILE and LFR_GRPC_TLS__KEY_FILE (Triton on Kubernetes requires the "
                "service's client certificate)"
            )
        if self.calibration_file is not None:
            if not self.calibration_file.is_file():
                problems.append(f"LFR_CALIBRATION_FILE: no calibration table at {self.calibration_file}")
        else:
            try:
                default_calibration_path(MODEL_VERSION)
            except FileNotFoundError:
                problems.append(
                    f"LFR_CALIBRATION_FILE unset and no {MODEL_VERSION}.json shipped beside the package: "
                    "production refuses the provisional score mapping (a threshold would not mean what "
                    "the Authorising Officer approved); mount the table and point LFR_CALIBRATION_FILE at it"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def _in_process_models_problems(self) -> list[str]:
        advice = (
            "production runs the models on Triton (LFR_INFERENCE_BACKEND=triton, LFR_TRITON_URL), or set "
            "LFR_MODEL_REPOSITORY to a mounted model repository"
        )
        try:
            repository = self.model_repository or default_model_repository()
        except FileNotFoundError:
            return [
                "LFR_INFERENCE_BACKEND=onnxruntime runs the models in this process, but LFR_MODEL_REPOSITORY "
                f"is unset and no deploy/triton is shipped beside the package; {advice}"
            ]
        missing = [m for m in ALL_MODELS if not model_path(repository, m).is_file()]
        if not missing:
            return []
        return [
            f"LFR_INFERENCE_BACKEND=onnxruntime runs the models in this process, but {repository} has no "
            f"{', '.join(missing)}; {advice}"
        ]
