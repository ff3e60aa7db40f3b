"""MTCNN detector on real faces (registry test images) and on face-free images, with the real ONNX nets."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from lfr_inference.vision.backends import OnnxRuntimeBackend
from lfr_inference.vision.detector import (
    Detection,
    DetectorConfig,
    MtcnnDetector,
    nms,
    pyramid_scales,
    square,
)
from PIL import Image

FULL_FACES = ("biden.jpg", "obama.jpg", "obama2.jpg", "obama3.jpg")
PARTIAL_FACES = ("obama_partial_face.jpg", "obama_partial_face2.jpg")


def load_rgb(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def detector() -> MtcnnDetector:
    return MtcnnDetector(OnnxRuntimeBackend(models=("face_detector_pnet", "face_detector_rnet",
                                                    "face_detector_onet")))


def assert_plausible_landmarks(face: Detection) -> None:
    left_eye, right_eye, nose, mouth_left, mouth_right = face.landmarks5
    x1, y1, x2, y2 = face.box
    assert face.landmarks5.shape == (5, 2) and face.landmarks5.dtype == np.float32
    assert np.all((face.landmarks5[:, 0] >= x1) & (face.landmarks5[:, 0] <= x2)), "landmarks outside box"
    assert np.all((face.landmarks5[:, 1] >= y1) & (face.landmarks5[:, 1] <= y2)), "landmarks outside box"
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])
    assert left_eye[0] < right_eye[0] and mouth_left[0] < mouth_right[0]
    assert left_eye[0] < nose[0] < right_eye[0]


@pytest.mark.parametrize("name", FULL_FACES)
async def test_every_face_is_found_with_plausible_landmarks(detector, face_images_dir, name):
    image = load_rgb(face_images_dir / name)
    faces = [f for f in await detector.detect(image) if f.score >= 0.95]
    assert len(faces) == 1  # each of these photos shows exactly one person
    face = faces[0]
    assert face.width > 150 and face.height > 150  # portrait-sized faces in these photos
    assert_plausible_landmarks(face)


@pytest.mark.parametrize("name", PARTIAL_FACES)
async def test_partial_faces_are_found(detector, face_images_dir, name):
    faces = await detector.detect(load_rgb(face_images_dir / name))
    assert any(f.score >= 0.95 for f in faces)


async def test_face_free_images_yield_no_detections(detector):
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, size=(480, 640, 3), dtype=np.uint8)
    ramp = np.linspace(0, 255, 640, dtype=np.float32)
    gradient = np.stack([np.tile(ramp, (480, 1)), np.tile(ramp[::-1], (480, 1)),
                         np.full((480, 640), 90, np.float32)], axis=2).astype(np.uint8)
    flat = np.full((480, 640, 3), 128, np.uint8)
    assert await detector.detect_batch([noise, gradient, flat]) == [[], [], []]


async def test_face_placed_in_a_cctv_frame_is_located_where_it_was_put(detector, face_images_dir):
    portrait = load_rgb(face_images_dir / "obama2.jpg")
    reference = (await detector.detect(portrait))[0]
    scale = 120 / reference.width  # a ~120 px face
    small = cv2.resize(portrait, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame = np.full((480, 640, 3), 60, np.uint8)
    ox, oy = 300, 20
    h, w = min(small.shape[0], 480 - oy), min(small.shape[1], 640 - ox)
    frame[oy : oy + h, ox : ox + w] = small[:h, :w]
    faces = await detector.detect(frame)
    assert len(faces) == 1
    expected = reference.box * scale + np.array([ox, oy, ox, oy])
    assert np.abs(faces[0].box - expected).max() < 12
    assert np.abs(faces[0].landmarks5 - (reference.landmarks5 * scale + [ox, oy])).max() < 8


async def test_min_face_size_is_honoured(detector, face_images_dir):
    portrait = load_rgb(face_images_dir / "obama2.jpg")
    tiny = cv2.resize(portrait, None, fx=0.1, fy=0.1, interpolation=cv2.INTER_AREA)  # face ~28 px
    frame = np.full((240, 320, 3), 60, np.uint8)
    frame[50 : 50 + tiny.shape[0], 100 : 100 + tiny.shape[1]] = tiny
    fine = MtcnnDetector(detector.backend, DetectorConfig(min_face_px=20))
    coarse = MtcnnDetector(detector.backend, DetectorConfig(min_face_px=80))
    assert len(await fine.detect(frame)) == 1
    assert await coarse.detect(frame) == []


async def test_batch_detection_equals_one_by_one(detector, face_images_dir):
    images = [load_rgb(face_images_dir / n) for n in ("obama.jpg", "obama2.jpg", "obama.jpg")]
    images[2] = np.ascontiguousarray(images[2][:, ::-1])  # same size as images[0]: shares P-Net batches
    batched = await detector.detect_batch(images)
    for image, faces in zip(images, batched, strict=True):
        single = await detector.detect(image)
        assert len(single) == len(faces)
        for a, b in zip(single, faces, strict=True):
            np.testing.assert_allclose(a.box, b.box, atol=1e-3)
            np.testing.assert_allclose(a.landmarks5, b.landmarks5, atol=1e-3)


async def test_rejects_non_rgb_input(detector):
    with pytest.raises(ValueError):
        await detector.detect(np.zeros((100, 100), np.uint8))


def test_nms_keeps_best_of_overlapping_and_separate_boxes():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [50, 50, 60, 60], [2, 2, 6, 6]], np.float32)
    scores = np.array([0.8, 0.9, 0.7, 0.95], np.float32)
    assert nms(boxes, scores, 0.5).tolist() == [3, 1, 2]
    assert nms(boxes, scores, 0.5, mode="min").tolist() == [3, 2]  # nested box swallows the others


def test_square_and_pyramid():
    np.testing.assert_allclose(square(np.array([[10, 20, 30, 60]], np.float32)), [[0, 20, 40, 60]])
    scales = pyramid_scales(480, 640, DetectorConfig(min_face_px=40, pyramid_factor=0.5))
    # 480 px short side -> 144, 72, 36, 18 px; the next level (9 px) is below P-Net's 12 px window
    assert scales == pytest.approx([0.3, 0.15, 0.075, 0.0375])
