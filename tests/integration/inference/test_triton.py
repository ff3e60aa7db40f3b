"""The real Triton path: a tritonserver (pytriton, CPU) serving the committed ONNX models over gRPC.

The same pipeline on `TritonBackend` and on the in-process `OnnxRuntimeBackend` must give the same faces
and the same embeddings, and Triton's dynamic batcher must merge concurrent requests.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np
import pytest
from lfr_inference.adapters.triton_client import TritonBackend
from lfr_inference.vision.backends import ALL_MODELS, EMBEDDER, OnnxRuntimeBackend
from lfr_inference.vision.embedder import INPUT_NAME, OUTPUT_EMBEDDING
from lfr_inference.vision.pipeline import FacePipeline
from PIL import Image

pytestmark = pytest.mark.triton

IMAGES = ("biden.jpg", "obama.jpg", "obama2.jpg", "obama3.jpg", "obama_partial_face2.jpg")


@pytest.fixture
async def triton(triton_server):
    backend = TritonBackend(triton_server.url)
    yield backend
    await backend.close()


@pytest.fixture(scope="module")
def local() -> OnnxRuntimeBackend:
    return OnnxRuntimeBackend()


@pytest.fixture(scope="module")
def frames(face_images_dir) -> list[np.ndarray]:
    return [np.asarray(Image.open(face_images_dir / name).convert("RGB")) for name in IMAGES]


async def test_server_reports_every_model_ready(triton):
    assert await triton.is_ready(ALL_MODELS)
    assert not await triton.is_ready(["no_such_model"])


async def test_triton_and_onnxruntime_give_the_same_faces_and_embeddings(triton, local, frames):
    over_triton = await FacePipeline(triton).process(frames)
    in_process = await FacePipeline(local).process(frames)
    faces = 0
    for remote, here in zip(over_triton, in_process, strict=True):
        assert len(remote.faces) == len(here.faces)
        assert remote.rejected == here.rejected
        for a, b in zip(remote.faces, here.faces, strict=True):
            np.testing.assert_allclose(a.detection.box, b.detection.box, atol=1e-2)
            np.testing.assert_allclose(a.detection.landmarks5, b.detection.landmarks5, atol=1e-2)
            assert float(a.embedding @ b.embedding) > 0.9999
            faces += 1
    assert faces >= 4  # biden and the three full obama portraits at least


async def test_batches_above_max_batch_size_are_split_and_reassembled(triton, local, frames):
    rng = np.random.default_rng(3)
    chips = rng.integers(0, 256, size=(70, 150, 150, 3), dtype=np.uint8)  # embedder max_batch_size is 64
    remote = (await triton.infer(EMBEDDER, {INPUT_NAME: chips}, [OUTPUT_EMBEDDING]))[OUTPUT_EMBEDDING]
    here = local.run(EMBEDDER, {INPUT_NAME: chips}, [OUTPUT_EMBEDDING])[OUTPUT_EMBEDDING]
    assert remote.shape == (70, 128)
    assert np.min(np.sum(remote * here, axis=1)) > 0.9999


async def test_dynamic_batching_merges_concurrent_requests(triton):
    before = await triton.statistics(EMBEDDER)
    rng = np.random.default_rng(4)
    requests = 24
    chips = rng.integers(0, 256, size=(requests, 1, 150, 150, 3), dtype=np.uint8)
    results = await asyncio.gather(*(
        triton.infer(EMBEDDER, {INPUT_NAME: chip}, [OUTPUT_EMBEDDING]) for chip in chips
    ))
    assert all(r[OUTPUT_EMBEDDING].shape == (1, 128) for r in results)
    # Triton updates its statistics just after it answers, so a read right away may lag the responses.
    deadline = time.monotonic() + 10
    while True:
        after = await triton.statistics(EMBEDDER)
        inferences = int(after["inference_count"]) - int(before.get("inference_count", 0))
        executions = int(after["execution_count"]) - int(before.get("execution_count", 0))
        if inferences >= requests or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.05)  # Triton offers no notification for statistics: poll
    assert inferences == requests
    # One model instance executes at a time: requests arriving meanwhile wait in the dynamic batcher's
    # queue and are run together, so there are fewer executions than requests.
    assert executions < requests
