"""FacePipeline end to end on the real ONNX models (in-process onnxruntime) and registry face images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from lfr_inference.vision.backends import OnnxRuntimeBackend
from lfr_inference.vision.embedder import Embedder
from lfr_inference.vision.pipeline import DETECTED, EMBEDDED, FacePipeline
from PIL import Image


@pytest.fixture(scope="module")
def backend() -> OnnxRuntimeBackend:
    return OnnxRuntimeBackend()


@pytest.fixture(scope="module")
def photos(face_images_dir) -> dict[str, np.ndarray]:
    names = ("obama.jpg", "obama2.jpg", "biden.jpg")
    return {n: np.asarray(Image.open(face_images_dir / n).convert("RGB")) for n in names}


async def test_batch_of_frames_yields_gated_aligned_embedded_faces(backend, photos):
    blurred = cv2.GaussianBlur(photos["obama.jpg"], (0, 0), sigmaX=8)
    noise = np.random.default_rng(5).integers(0, 256, (480, 640, 3), np.uint8)
    pipeline = FacePipeline(backend)
    obama, obama2, biden, soft, empty = await pipeline.process(
        [photos["obama.jpg"], photos["obama2.jpg"], photos["biden.jpg"], blurred, noise]
    )
    for frame in (obama, obama2, biden):
        assert len(frame.faces) == 1 and not frame.rejected
        face = frame.faces[0]
        assert face.chip.shape == (150, 150, 3) and face.chip.dtype == np.uint8
        assert face.embedding.shape == (128,) and face.embedding.dtype == np.float32
        assert np.linalg.norm(face.embedding) == pytest.approx(1.0, abs=1e-4)
        assert face.quality.accepted
    assert soft.faces == [] and soft.rejected == {"rejected:too_blurred": 1}
    assert empty.faces == [] and not empty.rejected
    same = float(obama.faces[0].embedding @ obama2.faces[0].embedding)
    different = float(obama.faces[0].embedding @ biden.faces[0].embedding)
    assert same > 0.85 > different  # dlib's model: same person within distance 0.6, i.e. cosine > 0.82
    assert pipeline.tally == {DETECTED: 4, EMBEDDED: 3, "rejected:too_blurred": 1}


async def test_batched_and_single_frame_processing_agree(backend, photos):
    pipeline = FacePipeline(backend, max_embed_batch=1)  # also exercises chunked embedding
    frames = [photos["obama2.jpg"], photos["biden.jpg"]]
    batched = await pipeline.process(frames)
    for frame, result in zip(frames, batched, strict=True):
        single = await pipeline.process_frame(frame)
        assert len(single.faces) == len(result.faces) == 1
        assert float(single.faces[0].embedding @ result.faces[0].embedding) > 0.9999


@pytest.mark.parametrize("flip_average", [False, True])
async def test_pipeline_embeddings_equal_the_embedders(backend, photos, flip_average):
    pipeline = FacePipeline(backend, flip_average=flip_average)
    faces = [face for frame in await pipeline.process(list(photos.values())) for face in frame.faces]
    chips = np.stack([face.chip for face in faces])
    reference = Embedder(flip_average=flip_average).embed(chips)
    for face, expected in zip(faces, reference, strict=True):
        assert float(face.embedding @ expected) > 0.9999


async def test_empty_batch(backend):
    assert await FacePipeline(backend).process([]) == []
