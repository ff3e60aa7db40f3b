"""Configuration of the inference service (environment, prefix LFR_), validated at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from lfr_platform.settings import ServiceSettings
from pydantic import Field


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
