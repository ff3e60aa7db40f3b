"""Configuration of the ingest service (environment, prefix LFR_), validated at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from lfr_platform.settings import ServiceSettings
from pydantic import Field, model_validator

FRAMES_TOPIC = "lfr.ingest.frames.v1"
EVENTS_TOPIC = "lfr.ingest.events.v1"
DEPLOYMENTS_TOPIC = "lfr.deployments.events.v1"
MAX_FRAME_RETENTION_SECONDS = 60.0


class IngestSettings(ServiceSettings):
    service: str = "ingest"
    http_port: int = 8104
    grpc_port: int = 9104

    media_root: Path | None = Field(
        default=None,
        description="Folder file and image-sequence sources must live in; default <data_dir>/media",
    )
    grpc_targets: dict[str, str] = Field(default_factory=dict, description='{"deployments": "host:port"}')
    topic_prefix: str = Field(default="", description="Isolates test runs on a shared broker")

    # Frames stream: rotating slot topics (see lfr_platform.messaging.rotation); retention <= 60 s.
    frames_slots: int = Field(default=3, ge=3)
    frames_slot_seconds: float = Field(default=20.0, gt=0)
    frames_partitions: int = Field(default=3, ge=1)
    recycle_frames_topic: bool = Field(default=True, description="Needed on tansu, which ignores retention")

    frame_buffer: int = Field(default=4, ge=1, le=256, description="Frames per camera awaiting Kafka")
    max_in_flight: int = Field(default=8, ge=1, le=256, description="Unacknowledged sends per camera")
    jpeg_quality: int = Field(default=80, ge=30, le=95)
    key_cache_seconds: float = Field(default=30.0, gt=0, le=60)
    default_fps: float = Field(default=5.0, gt=0, le=60)
    max_fps: float = Field(default=30.0, gt=0, le=60)
    max_width: int = Field(default=1920, ge=64, le=7680)
    max_height: int = Field(default=1080, ge=64, le=4320)
    reconnect_min_seconds: float = Field(default=0.5, gt=0)
    reconnect_max_seconds: float = Field(default=30.0, gt=0)
    open_timeout_seconds: float = Field(default=10.0, gt=0)
    read_timeout_seconds: float = Field(default=5.0, gt=0)
    authority_tick_seconds: float = Field(default=0.2, gt=0, le=1.0)

    @model_validator(mode="after")
    def _frames_retention(self) -> Self:
        if self.frames_slots * self.frames_slot_seconds > MAX_FRAME_RETENTION_SECONDS:
            raise ValueError(
                "frames_slots x frames_slot_seconds is the frames topic's retention; it must be <= 60 s"
            )
        if self.reconnect_max_seconds < self.reconnect_min_seconds:
            raise ValueError("reconnect_max_seconds must be >= reconnect_min_seconds")
        return self

    @property
    def resolved_media_root(self) -> Path:
        return (self.media_root or self.data_dir / "media").resolve()

    @property
    def frames_topic(self) -> str:
        return f"{self.topic_prefix}{FRAMES_TOPIC}"

    @property
    def events_topic(self) -> str:
        return f"{self.topic_prefix}{EVENTS_TOPIC}"

    @property
    def deployments_topic(self) -> str:
        return f"{self.topic_prefix}{DEPLOYMENTS_TOPIC}"
