"""Quality gate on real detections (registry test images) and on landmark geometry."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from lfr_inference.vision.backends import OnnxRuntimeBackend
from lfr_inference.vision.detector import Detection, DetectorConfig, MtcnnDetector
from lfr_inference.vision.quality import QualityConfig, RejectionReason, assess, pose
from PIL import Image


@pytest.fixture(scope="module")
def detector() -> MtcnnDetector:
    return MtcnnDetector(OnnxRuntimeBackend(models=("face_detector_pnet", "face_detector_rnet",
                                                    "face_detector_onet")))


@pytest.fixture(scope="module")
def portrait(face_images_dir) -> np.ndarray:
    return np.asarray(Image.open(face_images_dir / "obama.jpg").convert("RGB"))


async def best_face(detector: MtcnnDetector, image: np.ndarray) -> Detection:
    faces = await detector.detect(image)
    assert faces, "expected a face"
    return faces[0]


async def test_sharp_frontal_face_is_accepted(detector, portrait):
    verdict = assess(portrait, await best_face(detector, portrait))
    assert verdict.accepted and verdict.reason is None
    assert abs(verdict.yaw) < 0.2 and abs(verdict.roll_deg) < 10
    assert 0 < verdict.score <= 1


async def test_blurred_face_is_refused_as_blurred(detector, portrait):
    face = await best_face(detector, portrait)
    blurred = cv2.GaussianBlur(portrait, (0, 0), sigmaX=3 * face.width / 96)
    verdict = assess(blurred, face)
    assert not verdict.accepted and verdict.reason is RejectionReason.TOO_BLURRED
    assert verdict.sharpness < assess(portrait, face).sharpness


async def test_small_face_is_refused_as_too_small(detector, portrait):
    small = cv2.resize(portrait, None, fx=0.12, fy=0.12, interpolation=cv2.INTER_AREA)
    face = await best_face(MtcnnDetector(detector.backend, DetectorConfig(min_face_px=20)), small)
    verdict = assess(small, face, QualityConfig(min_face_px=40))
    assert verdict.reason is RejectionReason.TOO_SMALL


async def test_face_cut_by_the_frame_edge_is_refused(detector, face_images_dir):
    image = np.asarray(Image.open(face_images_dir / "obama_partial_face.jpg").convert("RGB"))
    verdict = assess(image, await best_face(detector, image))
    assert verdict.reason is RejectionReason.LANDMARKS_OUTSIDE


def _face(landmarks: list[list[float]]) -> Detection:
    points = np.asarray(landmarks, np.float32)
    box = np.array([points[:, 0].min() - 30, points[:, 1].min() - 40,
                    points[:, 0].max() + 30, points[:, 1].max() + 30], np.float32)
    return Detection(box=box, score=0.99, landmarks5=points)


FRONTAL = [[100, 100], [160, 100], [130, 135], [108, 165], [152, 165]]


def test_pose_proxies_of_a_frontal_face():
    yaw, roll, pitch = pose(np.asarray(FRONTAL, np.float32))
    assert yaw == pytest.approx(0) and roll == pytest.approx(0) and pitch == pytest.approx(35 / 65)


def test_turned_face_is_refused_for_pose():
    turned = [[100, 100], [160, 100], [158, 135], [120, 165], [160, 165]]  # nose near the right eye
    image = np.random.default_rng(1).integers(0, 256, (300, 300, 3), np.uint8)  # sharp texture
    assert assess(image, _face(FRONTAL)).accepted
    verdict = assess(image, _face(turned))
    assert verdict.reason is RejectionReason.POSE and verdict.yaw > 0.35


def test_roll_is_measured_from_the_eye_line_and_refused_when_large():
    angle = math.radians(50)
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    centre = np.array([130, 130])
    rolled = ((np.asarray(FRONTAL, float) - centre) @ rotation.T + centre).tolist()
    yaw, roll, _ = pose(np.asarray(rolled, np.float32))
    assert roll == pytest.approx(50, abs=1e-4) and yaw == pytest.approx(0, abs=1e-6)
    image = np.random.default_rng(2).integers(0, 256, (300, 300, 3), np.uint8)
    assert assess(image, _face(rolled)).reason is RejectionReason.POSE
    assert assess(image, _face(rolled), QualityConfig(max_abs_roll_deg=60)).accepted
