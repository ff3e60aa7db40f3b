"""Turn evaluation images into embeddings through a named pipeline, with an on-disk cache.

Pipelines:
* ``lfr``: the platform's own path — MTCNN (lfr_inference.vision.detector) -> 5 landmarks ->
  ``chips.extract_chip`` -> ONNX embedder; the mirrored chip's embedding is kept too so flip
  averaging can be measured without recomputation. When the MTCNN models are missing the eval falls
  back to dlib's HOG detector and 5-point predictor (labelled ``detector="dlib-hog"``); dlib is a
  reference tool and never a service dependency.
* ``dlib``: the raw dlib pipeline used as the baseline — HOG detector (1x upsampling), the 5-point shape
  predictor, ``get_face_chip(150, 0.25)`` and dlib's ResNet. The ResNet is run through our ONNX export,
  which reproduces dlib's descriptors to cosine >= 0.999 (tests/integration/inference/
  test_embedder_parity.py), to halve the run time; pass ``reference_net=True`` to use dlib's own.

Each image yields at most one face: the detection whose box centre is nearest the image centre
(evaluation sets such as LFW centre the labelled face). Images without a face keep ``found=False``.
Embeddings are cached per pipeline under ``/tmp/lfr-eval-cache`` keyed by file path, size and mtime.
"""

from __future__ import annotations

import asyncio
import hashlib
import pickle
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from lfr_inference.arrays import Float32Array, FloatArray, UInt8Array
from lfr_inference.vision import chips as chip_module
from lfr_inference.vision.embedder import EMBEDDING_DIM, Embedder

DEFAULT_CACHE = Path("/tmp/lfr-eval-cache")
CACHE_VERSION = 3

# dlib's 5-point chip template (get_face_chip_details, padding 0.25, size 150): points 0-1 are the
# corners of the image-right eye, 2-3 the image-left eye, 4 the base of the nose.
_DLIB5_UNIT = np.array([
    [0.8595674595992, 0.2134981538014], [0.6460604764104, 0.2289674387677],
    [0.1205750620789, 0.2137274526848], [0.3340850613712, 0.2290642403242],
    [0.4901123135679, 0.6277975316475],
])
DLIB5_TEMPLATE = ((0.25 + _DLIB5_UNIT) / 1.5 * 150).astype(np.float32)


@dataclass
class FaceRecord:
    found: bool
    embedding: Float32Array  # (128,) L2-normalised; zeros when not found
    embedding_flip: Float32Array  # mirrored chip's embedding (zeros when not computed)
    norm: float = 0.0
    landmarks: Float32Array | None = None  # (5, 2) in the pipeline's own landmark convention
    dlib_landmarks: Float32Array | None = None  # dlib 5-point landmarks (dlib pipeline only)
    box_px: float = 0.0


def load_rgb(path: Path) -> UInt8Array:
    with Image.open(path) as image:
        rgb: UInt8Array = np.asarray(image.convert("RGB"))
    return rgb


def _central(boxes: Sequence[Float32Array], shape: tuple[int, ...]) -> int | None:
    if not boxes:
        return None
    centre = np.array([shape[1] / 2, shape[0] / 2])
    distances = [np.linalg.norm((b[:2] + b[2:4]) / 2 - centre) for b in boxes]
    return int(np.argmin(distances))


class DlibReference:
    """dlib HOG + 5-point predictor (and optionally its ResNet), for the baseline and the fallback."""

    def __init__(self) -> None:
        import dlib  # reference only: a dev dependency
        import face_recognition_models

        models = Path(face_recognition_models.__file__).parent / "models"
        self.dlib = dlib
        self.detector = dlib.get_frontal_face_detector()
        self.shape_predictor = dlib.shape_predictor(str(models / "shape_predictor_5_face_landmarks.dat"))
        self._net_path = models / "dlib_face_recognition_resnet_model_v1.dat"
        # dlib ships no type information; the network is built on first use (it is large).
        self._net: Any = None

    def landmarks(self, image: UInt8Array) -> tuple[Float32Array, Float32Array] | None:
        """(box x1y1x2y2, 5x2 landmarks) of the most central HOG face, or None."""
        rects = list(self.detector(image, 1))
        boxes = [np.array([r.left(), r.top(), r.right(), r.bottom()], dtype=np.float32) for r in rects]
        index = _central(boxes, image.shape)
        if index is None:
            return None
        shape = self.shape_predictor(image, rects[index])
        points = np.array([[shape.part(i).x, shape.part(i).y] for i in range(5)], dtype=np.float32)
        return boxes[index], points

    def chip(self, image: UInt8Array, points: Float32Array) -> UInt8Array:
        d = self.dlib
        rect = d.rectangle(0, 0, image.shape[1] - 1, image.shape[0] - 1)
        shape = d.full_object_detection(rect, [d.point(int(x), int(y)) for x, y in points])
        return np.asarray(d.get_face_chip(image, shape, size=150, padding=0.25))

    def descriptor(self, chip: UInt8Array) -> Float32Array:
        if self._net is None:
            self._net = self.dlib.face_recognition_model_v1(str(self._net_path))
        return np.asarray(self._net.compute_face_descriptor(chip), dtype=np.float32)


class MtcnnLandmarks:
    def __init__(self) -> None:
        from lfr_inference.vision.backends import ONET, PNET, RNET, OnnxRuntimeBackend
        from lfr_inference.vision.detector import MtcnnDetector

        self.detector = MtcnnDetector(OnnxRuntimeBackend(models=(PNET, RNET, ONET), intra_op_threads=1))

    def landmarks(self, image: UInt8Array) -> tuple[Float32Array, Float32Array] | None:
        detections = asyncio.run(self.detector.detect(image))
        index = _central([d.box for d in detections], image.shape)
        if index is None:
            return None
        return detections[index].box, detections[index].landmarks5


def mtcnn_available() -> bool:
    try:
        from lfr_inference.vision.backends import PNET, default_model_repository, model_path

        return model_path(default_model_repository(), PNET).is_file()
    except (ImportError, FileNotFoundError):
        return False


class Extractor:
    """Computes FaceRecords for images through one pipeline (``lfr`` or ``dlib``), cached."""

    def __init__(
        self,
        pipeline: str,
        embedder: Embedder | None = None,
        cache_dir: Path | None = DEFAULT_CACHE,
        reference_net: bool = False,
        template: FloatArray | None = None,
    ) -> None:
        if pipeline not in ("lfr", "dlib"):
            raise ValueError("pipeline must be 'lfr' or 'dlib'")
        self.pipeline = pipeline
        self.embedder = embedder or Embedder()
        self.reference_net = reference_net
        self.template = chip_module.CHIP_TEMPLATE if template is None else template
        self.detector_name = "dlib-hog"
        self._dlib: DlibReference | None = None
        self._mtcnn: MtcnnLandmarks | None = None
        if pipeline == "lfr" and mtcnn_available():
            self.detector_name = "mtcnn"
        self._cache_path = None
        if cache_dir is not None:
            key = f"{CACHE_VERSION}|{pipeline}|{self.detector_name}|{reference_net}|"
            key += hashlib.sha256(np.asarray(self.template, np.float32).tobytes()).hexdigest()[:12]
            cache_dir.mkdir(parents=True, exist_ok=True)
            self._cache_path = cache_dir / f"{pipeline}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.pkl"
        self._cache: dict[str, FaceRecord] = self._load_cache()

    @property
    def dlib(self) -> DlibReference:
        if self._dlib is None:
            self._dlib = DlibReference()
        return self._dlib

    def _load_cache(self) -> dict[str, FaceRecord]:
        if self._cache_path is None or not self._cache_path.exists():
            return {}
        with self._cache_path.open("rb") as f:
            cached: dict[str, FaceRecord] = pickle.load(f)
        return cached

    def save_cache(self) -> None:
        if self._cache_path is None:
            return
        tmp = self._cache_path.with_suffix(".tmp")
        with tmp.open("wb") as f:
            pickle.dump(self._cache, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(self._cache_path)

    @staticmethod
    def _key(path: Path) -> str:
        stat = path.stat()
        return f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"

    def records(
        self, paths: Sequence[Path], progress: Callable[[int], None] | None = None
    ) -> list[FaceRecord]:
        out = []
        fresh = 0
        for path in paths:
            key = self._key(path)
            record = self._cache.get(key)
            if record is None:
                record = self._compute(load_rgb(path))
                self._cache[key] = record
                fresh += 1
                if fresh % 200 == 0:
                    self.save_cache()
            out.append(record)
            if progress is not None:
                progress(1)
        if fresh:
            self.save_cache()
        return out

    def _compute(self, image: UInt8Array) -> FaceRecord:
        zeros = np.zeros(EMBEDDING_DIM, np.float32)
        if self.pipeline == "dlib":
            found = self.dlib.landmarks(image)
            if found is None:
                return FaceRecord(False, zeros, zeros)
            box, points = found
            chip = self.dlib.chip(image, points)
            if self.reference_net:
                raw = self.dlib.descriptor(chip)
                norm = float(np.linalg.norm(raw))
                embedding = raw / max(norm, 1e-12)
            else:
                embeddings, norms = self.embedder.embed_with_norms(chip[None])
                embedding, norm = embeddings[0], float(norms[0])
            return FaceRecord(True, embedding, zeros, norm, points, points, float(box[2] - box[0]))
        if self.detector_name == "mtcnn":
            if self._mtcnn is None:
                self._mtcnn = MtcnnLandmarks()
            found = self._mtcnn.landmarks(image)
            template = self.template
        else:
            found = self.dlib.landmarks(image)
            template = DLIB5_TEMPLATE
        if found is None:
            return FaceRecord(False, zeros, zeros)
        box, points = found
        chip = chip_module.extract_chip(image, points, template=template)
        embeddings, norms = self.embedder.embed_with_norms(np.stack([chip, chip[:, ::-1]]))
        return FaceRecord(True, embeddings[0], embeddings[1], float(norms[0]), points, None,
                          float(box[2] - box[0]))


def embeddings_of(records: Sequence[FaceRecord], flip: bool) -> Float32Array:
    """Stack records' embeddings ([N,128]); with ``flip``, the normalised mean of chip and mirror."""
    matrix = np.stack([r.embedding for r in records]).astype(np.float32)
    if flip:
        mirrored = np.stack([r.embedding_flip for r in records]).astype(np.float32)
        matrix = matrix + mirrored
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        matrix = matrix / np.maximum(norms, 1e-12)
    return matrix
