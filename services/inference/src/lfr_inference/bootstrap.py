"""Composition root of the inference service: the only place that builds engines, producers and clients."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from lfr_platform.blobs import BlobStore, open_blob_store
from lfr_platform.clock import Clock, SystemClock
from lfr_platform.data_keys import GrpcDataKeys
from lfr_platform.grpc_security import channel_credentials, peer_channel
from lfr_platform.http import create_app
from lfr_platform.http.health import ReadinessCheck
from lfr_platform.messaging.rotation import RotatingTopic
from lfr_platform.messaging.topics import TopicSpec
from lfr_platform.runtime import GRPC_MESSAGE_OPTIONS, ServiceRuntime
from lfr_platform.service import ServiceKit

from lfr_inference.adapters.peer_clients import GrpcGallerySource
from lfr_inference.app.calibrations import Calibrations
from lfr_inference.app.deployments import DeploymentEventsHandler, DeploymentRegistry, restore
from lfr_inference.app.enrolment import ENROL_DETECTOR, ENROL_QUALITY, Enroller
from lfr_inference.app.events_out import EventWriter
from lfr_inference.app.galleries import GalleryRegistry
from lfr_inference.app.ports import DataKeys, GallerySource
from lfr_inference.app.recognition import Recognition, RecognitionConfig
from lfr_inference.app.status import StatusQuery
from lfr_inference.entrypoints.grpc.enrolment import SERVICE_NAME as ENROL_SERVICE
from lfr_inference.entrypoints.grpc.enrolment import enrolment_registrar
from lfr_inference.entrypoints.http.status import status_router
from lfr_inference.settings import InferenceSettings
from lfr_inference.vision.backends import ALL_MODELS, EMBEDDER, InferenceBackend, OnnxRuntimeBackend
from lfr_inference.vision.embedder import INPUT_NAME, MODEL_VERSION, OUTPUT_EMBEDDING
from lfr_inference.vision.pipeline import FacePipeline

TOPIC = "lfr.inference.events.v1"
DEFAULT_PEERS = {"deployments": "127.0.0.1:9101", "watchlists": "127.0.0.1:9102"}


def build_backend(settings: InferenceSettings) -> InferenceBackend:
    if settings.inference_backend == "triton":
        from lfr_inference.adapters.triton_client import TritonBackend

        # TLS with the service's own certificate when configured; plaintext only to loopback in dev.
        credentials = channel_credentials(settings.triton_url, settings)
        return TritonBackend(settings.triton_url, credentials=credentials)
    return OnnxRuntimeBackend(
        settings.model_repository,
        intra_op_threads=settings.onnx_intra_op_threads,
        parallelism=settings.onnx_parallelism,
    )


def models_ready_check(backend: InferenceBackend) -> ReadinessCheck:
    """Triton: the server is up and every model loaded. onnxruntime: one embedding runs (cached once ok)."""
    passed: list[bool] = []

    async def probe() -> bool:
        is_ready = getattr(backend, "is_ready", None)
        if is_ready is not None:
            return bool(await is_ready(ALL_MODELS))
        if not passed:
            chips = np.zeros((1, 150, 150, 3), np.uint8)
            await backend.infer(EMBEDDER, {INPUT_NAME: chips}, [OUTPUT_EMBEDDING])
            passed.append(True)
        return True

    return ReadinessCheck("models", probe, timeout_seconds=5.0)


def frames_rotation(settings: InferenceSettings) -> RotatingTopic:
    return RotatingTopic(
        settings.frames_topic,
        slots=settings.frames_slots,
        slot_seconds=settings.frames_slot_seconds,
        partitions=settings.frames_partitions,
    )


@dataclass
class InferenceService:
    """Everything `build_service` wired, for the runtime and for tests that drive the pieces."""

    settings: InferenceSettings
    kit: ServiceKit
    runtime: ServiceRuntime
    recognition: Recognition
    deployments: DeploymentRegistry
    galleries: GalleryRegistry
    enroller: Enroller
    backend: InferenceBackend
    blobs: BlobStore
    closers: list[Any] = field(default_factory=list)


def build_service(
    settings: InferenceSettings,
    *,
    clock: Clock | None = None,
    backend: InferenceBackend | None = None,
    data_keys: DataKeys | None = None,
    gallery_source: GallerySource | None = None,
    calibrations: Calibrations | None = None,
) -> InferenceService:
    clock = clock or SystemClock()
    peers = DEFAULT_PEERS | settings.grpc_targets
    closers: list[Any] = []
    if data_keys is None:
        keys_client = GrpcDataKeys.connect(
            peers["deployments"],
            settings,
            cache_seconds=settings.data_key_cache_seconds,
            deadline_seconds=settings.grpc_deadline_seconds,
        )
        closers.append(keys_client)
        data_keys = keys_client
    if gallery_source is None:
        # A large watchlist's templates (15,000 x 128 floats) exceed gRPC's 4 MB default message size.
        channel = peer_channel(peers["watchlists"], settings, options=GRPC_MESSAGE_OPTIONS)
        gallery_client = GrpcGallerySource(channel)
        closers.append(gallery_client)
        gallery_source = gallery_client
    backend = backend or build_backend(settings)
    calibrations = calibrations or Calibrations.load(
        MODEL_VERSION, settings.calibration_file, snorm=settings.score_normalisation
    )

    rotation = frames_rotation(settings)
    kit = ServiceKit(
        settings,
        router=lambda _stream_type: settings.events_topic,
        topics=[TopicSpec(settings.events_topic), *rotation.specs()],
    )
    deployments = DeploymentRegistry(clock)
    galleries = GalleryRegistry(gallery_source, MODEL_VERSION, normalise=calibrations.normalises)
    blobs = open_blob_store(settings)
    recognition = Recognition(
        config=RecognitionConfig(
            model_version=MODEL_VERSION,
            max_frame_batch=settings.max_frame_batch,
            frame_queue_size=settings.frame_queue_size,
            max_backlog_per_camera=settings.max_backlog_per_camera,
            max_frame_age_seconds=settings.max_frame_age_seconds,
            track_expiry_seconds=settings.track_expiry_seconds,
            track_min_iou=settings.track_min_iou,
            match_top_k=settings.match_top_k,
            crop_margin=settings.crop_margin,
        ),
        pipeline=FacePipeline(backend, flip_average=calibrations.flip_average),
        deployments=deployments,
        galleries=galleries,
        data_keys=data_keys,
        blobs=blobs,
        events=EventWriter(kit.db),
        calibrations=calibrations,
        clock=clock,
    )
    enroller = Enroller(
        FacePipeline(backend, ENROL_DETECTOR, ENROL_QUALITY, flip_average=calibrations.flip_average),
        MODEL_VERSION,
    )

    def forget_keys(deployment_id: str) -> None:
        forget = getattr(data_keys, "forget", None)
        if forget is not None:
            forget(deployment_id)

    def on_stopped(deployment_id: str) -> None:
        recognition.forget_deployment(deployment_id)
        forget_keys(deployment_id)

    group = settings.consumer_group_prefix
    kit.add_consumer(
        "inference-deployments",
        DeploymentEventsHandler(deployments, galleries, on_stopped, forget_keys),
        [settings.deployments_topic],
        group_id=f"{group}inference-deployments",
        topic_prefix=group,
    )
    kit.add_raw_consumer(
        "inference-frames", recognition.accept, [], partitions=rotation.topic_partitions()
    )

    async def restore_projection() -> None:
        async with kit.db.unit_of_work() as uow:
            await restore(uow, deployments, galleries)
            await uow.commit()

    async def close() -> None:
        galleries.drop_all()
        await backend.close()
        for closer in closers:
            await closer.close()

    async def run_tallies() -> None:
        await recognition.run_tallies(settings.tally_interval_seconds)

    checks = [*kit.readiness_checks, models_ready_check(backend)]
    status = StatusQuery(deployments, galleries, recognition, calibrations, backend.name)
    app = create_app(settings.service, [status_router(status)], checks, settings)
    runtime = kit.runtime(
        app,
        grpc=[enrolment_registrar(enroller)],
        grpc_service_names=[ENROL_SERVICE],
        background=[recognition.run, run_tallies],
    )
    async def last_tallies() -> None:  # before the database closes; the relay publishes them next start
        await recognition.flush_tallies()

    runtime.on_start.append(restore_projection)
    runtime.on_stop.insert(0, last_tallies)
    runtime.on_stop.append(close)
    return InferenceService(
        settings, kit, runtime, recognition, deployments, galleries, enroller, backend, blobs, closers
    )


def build(settings: InferenceSettings) -> ServiceRuntime:
    return build_service(settings).runtime
