"""Embedder and chip alignment on real faces (the face_recognition sdist's test images)."""

from __future__ import annotations

import numpy as np
import pytest
from lfr_inference.eval.extract import DLIB5_TEMPLATE, DlibReference, MtcnnLandmarks
from lfr_inference.vision.chips import CHIP_SIZE, extract_chip, extract_chips, similarity_transform
from lfr_inference.vision.embedder import Embedder
from PIL import Image


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


def _rgb(path) -> np.ndarray:
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def test_similarity_transform_recovers_a_known_rotation_scale_and_shift():
    rng = np.random.default_rng(5)
    points = rng.uniform(0, 100, (5, 2))
    angle, scale, shift = 0.3, 1.7, np.array([12.0, -4.0])
    rotation = scale * np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    matrix = similarity_transform(points, points @ rotation.T + shift)
    assert matrix[:, :2] == pytest.approx(rotation, abs=1e-9)
    assert matrix[:, 2] == pytest.approx(shift, abs=1e-9)


def test_embeddings_are_unit_length_and_batch_independent(face_images_dir, embedder):
    image = _rgb(face_images_dir / "obama.jpg")
    marks = MtcnnLandmarks().landmarks(image)
    assert marks is not None
    chip = extract_chip(image, marks[1])
    assert chip.shape == (CHIP_SIZE, CHIP_SIZE, 3) and chip.dtype == np.uint8
    single = embedder.embed(chip[None])
    batch = embedder.embed(np.stack([chip, chip[:, ::-1], chip]))
    assert single.shape == (1, 128) and single.dtype == np.float32
    assert np.linalg.norm(batch, axis=1) == pytest.approx(1.0, abs=1e-5)
    assert batch[0] == pytest.approx(single[0], abs=1e-5)
    assert batch[2] == pytest.approx(single[0], abs=1e-5)
    assert extract_chips(image, np.zeros((0, 5, 2))).shape == (0, CHIP_SIZE, CHIP_SIZE, 3)
    with pytest.raises(ValueError):
        embedder.embed(np.zeros((1, 112, 112, 3), np.uint8))


def test_our_warp_reproduces_dlibs_chip_from_dlibs_landmarks(face_images_dir, embedder):
    """Same landmarks, same template: our cv2 warp must give (nearly) dlib's own chip."""
    reference = DlibReference()
    for name in ("obama.jpg", "obama2.jpg", "biden.jpg"):
        image = _rgb(face_images_dir / name)
        found = reference.landmarks(image)
        assert found is not None
        ours = extract_chip(image, found[1], template=DLIB5_TEMPLATE)
        theirs = reference.chip(image, found[1])
        a, b = embedder.embed(np.stack([ours, theirs]))
        assert float(a @ b) >= 0.99, name


def test_mtcnn_chips_tell_the_same_person_from_another(face_images_dir, embedder):
    detector = MtcnnLandmarks()
    vectors = {}
    for name in ("obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg"):
        image = _rgb(face_images_dir / name)
        found = detector.landmarks(image)
        assert found is not None, name
        vectors[name] = embedder.embed(extract_chip(image, found[1])[None])[0]
    same = [float(vectors["obama.jpg"] @ vectors[n]) for n in ("obama2.jpg", "obama3.jpg")]
    other = [float(vectors[n] @ vectors["biden.jpg"]) for n in ("obama.jpg", "obama2.jpg", "obama3.jpg")]
    assert min(same) > max(other) + 0.1, (same, other)


def test_flip_averaging_stays_normalised_and_close_to_the_plain_embedding(face_images_dir):
    image = _rgb(face_images_dir / "obama2.jpg")
    found = MtcnnLandmarks().landmarks(image)
    assert found is not None
    chip = extract_chip(image, found[1])[None]
    plain = Embedder().embed(chip)[0]
    flipped = Embedder(flip_average=True).embed(chip)[0]
    assert np.linalg.norm(flipped) == pytest.approx(1.0, abs=1e-5)
    assert 0.9 < float(plain @ flipped) < 0.99999


def test_mirror_helpers_match_in_process_flip_averaging(face_images_dir):
    """Callers embedding through Triton use with_mirrors/merge_mirrors; same result as flip_average."""
    from lfr_inference.vision.embedder import merge_mirrors, with_mirrors

    image = _rgb(face_images_dir / "biden.jpg")
    found = MtcnnLandmarks().landmarks(image)
    assert found is not None
    chips = np.stack([extract_chip(image, found[1])] * 2)
    doubled = with_mirrors(chips)
    assert doubled.shape == (4, CHIP_SIZE, CHIP_SIZE, 3)
    merged = merge_mirrors(Embedder().embed(doubled))
    assert merged == pytest.approx(Embedder(flip_average=True).embed(chips), abs=1e-5)
