"""Enrolment: a watchlist image becomes a template only if it holds exactly one good-quality face.

Stricter than the live gate: the detector looks for faces down to 20 px so that a small face is refused
as too small (rather than silently not found), and the face must be at least 80 px across. Nothing is
kept: the caller receives the template, and the image and chip are overwritten when done.
"""

from __future__ import annotations

from dataclasses import dataclass

from lfr_platform.images import ImageLimits, accept_image

from lfr_inference.arrays import UInt8Array
from lfr_inference.vision.chips import extract_chip
from lfr_inference.vision.detector import DetectorConfig
from lfr_inference.vision.pipeline import FacePipeline
from lfr_inference.vision.quality import QualityConfig, RejectionReason, assess

ENROL_DETECTOR = DetectorConfig(min_face_px=20)
ENROL_QUALITY = QualityConfig(min_face_px=80.0)
SECONDARY_FACE_RATIO = 0.3


@dataclass(frozen=True)
class EnrolledTemplate:
    embedding: list[float]
    model_version: str
    quality: float


@dataclass(frozen=True)
class Refusal:
    reason: str  # no_face, several_faces, too_small, too_blurred, bad_pose, unreadable_image
    message: str


_REASONS = {
    RejectionReason.TOO_SMALL: (
        "too_small",
        "The face is too small to enrol reliably: use an image where the face is at least {px} pixels "
        "across.",
    ),
    RejectionReason.TOO_BLURRED: ("too_blurred", "The face is too blurred to enrol: use a sharper image."),
    RejectionReason.POSE: (
        "bad_pose",
        "The face is turned or tilted too far: use a frontal image (looking at the camera, head level).",
    ),
    RejectionReason.LANDMARKS_OUTSIDE: (
        "bad_pose",
        "The face is cut off by the edge of the image: use an image showing the whole face.",
    ),
}


class Enroller:
    def __init__(self, pipeline: FacePipeline, model_version: str) -> None:
        self._pipeline = pipeline
        self._model_version = model_version

    async def enrol(self, image: bytes) -> EnrolledTemplate | Refusal:
        try:
            rgb = accept_image(image, ImageLimits(max_bytes=10 * 1024 * 1024)).rgb
        except Exception:
            return Refusal("unreadable_image", "The image could not be read as a JPEG or PNG photograph.")
        try:
            return await self._enrol_pixels(rgb)
        finally:
            rgb.fill(0)

    async def _enrol_pixels(self, rgb: UInt8Array) -> EnrolledTemplate | Refusal:
        (detections,) = await self._pipeline.detector.detect_batch([rgb])
        if not detections:
            return Refusal("no_face", "No face was found in the image.")
        largest = max(min(d.width, d.height) for d in detections)
        # Faces much smaller than the main one (a bystander far behind, a face on a poster) do not make
        # it ambiguous whose image this is; faces of comparable size do.
        faces = [d for d in detections if min(d.width, d.height) >= SECONDARY_FACE_RATIO * largest]
        if len(faces) > 1:
            return Refusal(
                "several_faces",
                f"The image shows {len(faces)} faces; a watchlist image must show exactly one person.",
            )
        face = faces[0]
        verdict = assess(rgb, face, self._pipeline.quality_config)
        if not verdict.accepted:
            assert verdict.reason is not None
            reason, message = _REASONS[verdict.reason]
            return Refusal(reason, message.format(px=int(self._pipeline.quality_config.min_face_px)))
        chip = extract_chip(rgb, face.landmarks5)
        embedding = (await self._pipeline.embed(chip[None]))[0]
        try:
            return EnrolledTemplate(
                embedding=[float(v) for v in embedding],
                model_version=self._model_version,
                quality=round(float(verdict.score), 4),
            )
        finally:
            chip.fill(0)
            embedding.fill(0.0)
            face.landmarks5.fill(0.0)
