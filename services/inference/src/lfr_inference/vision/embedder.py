"""The face embedder: dlib's ResNet (exported to ONNX) run in-process with onnxruntime.

``Embedder.embed(chips)`` takes dlib-aligned chips from ``vision.chips.extract_chip`` and returns
L2-normalised 128-D float32 embeddings, whose dot product is the cosine similarity the matcher and the
calibration use. The same ONNX file is served by Triton (deploy/triton/face_embedder).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lfr_inference.arrays import Float32Array, FloatArray, UInt8Array
from lfr_inference.vision.chips import CHIP_SIZE

MODEL_NAME = "face_embedder"
MODEL_VERSION = "dlib-resnet-v1-onnx1"  # the calibration table's key: changes when scores change
INPUT_NAME = "chips"  # uint8 [N, 150, 150, 3] RGB, NHWC
OUTPUT_EMBEDDING = "embedding"  # float32 [N, 128], L2-normalised
OUTPUT_NORM = "descriptor_norm"  # float32 [N, 1], norm of dlib's raw descriptor
EMBEDDING_DIM = 128


def default_model_path() -> Path:
    """deploy/triton/face_embedder/1/model.onnx, found by walking up from this file."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "deploy" / "triton" / MODEL_NAME / "1" / "model.onnx"
        if candidate.is_file():
            return candidate
    raise FileNotFoundError("face_embedder ONNX not found; run tools/export_dlib_embedder.py or pass a path")


def l2_normalise(vectors: FloatArray) -> Float32Array:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    normalised: Float32Array = (vectors / np.maximum(norms, 1e-12)).astype(np.float32)
    return normalised


class Embedder:
    """In-process embedder. ``flip_average`` embeds each chip and its mirror image and averages the
    two (test-time augmentation; kept only where it measures better — see MODEL_CARD.md)."""

    def __init__(
        self,
        model_path: Path | None = None,
        intra_op_num_threads: int = 1,
        flip_average: bool = False,
        max_batch: int = 64,
    ) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = intra_op_num_threads
        options.inter_op_num_threads = 1
        self._session = ort.InferenceSession(
            str(model_path or default_model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self.flip_average = flip_average
        self.max_batch = max_batch

    def embed_with_norms(self, chips: UInt8Array) -> tuple[Float32Array, Float32Array]:
        """(embeddings [N,128] L2-normalised, raw descriptor norms [N])."""
        batch = _check_chips(chips)
        if len(batch) == 0:
            return np.zeros((0, EMBEDDING_DIM), np.float32), np.zeros((0,), np.float32)
        embeddings, norms = self._run(batch)
        if self.flip_average:
            mirrored, mirrored_norms = self._run(np.ascontiguousarray(batch[:, :, ::-1, :]))
            embeddings = l2_normalise(embeddings + mirrored)
            norms = (norms + mirrored_norms) / 2
        return embeddings, norms

    def embed(self, chips: UInt8Array) -> Float32Array:
        """chips uint8 [N, 150, 150, 3] RGB -> float32 [N, 128], L2-normalised."""
        return self.embed_with_norms(chips)[0]

    def _run(self, batch: UInt8Array) -> tuple[Float32Array, Float32Array]:
        embeddings, norms = [], []
        for start in range(0, len(batch), self.max_batch):
            emb, norm = self._session.run(
                [OUTPUT_EMBEDDING, OUTPUT_NORM], {INPUT_NAME: batch[start : start + self.max_batch]}
            )
            embeddings.append(emb)
            norms.append(norm[:, 0])
        return np.concatenate(embeddings).astype(np.float32), np.concatenate(norms).astype(np.float32)


def with_mirrors(chips: UInt8Array) -> UInt8Array:
    """[N,150,150,3] -> [2N,150,150,3]: the chips followed by their left-right mirrors, for callers that
    embed through another backend (Triton) and then ``merge_mirrors`` the result."""
    batch = _check_chips(chips)
    return np.concatenate([batch, np.ascontiguousarray(batch[:, :, ::-1, :])])


def merge_mirrors(embeddings: Float32Array) -> Float32Array:
    """[2N,128] embeddings of ``with_mirrors`` chips -> [N,128] flip-averaged, L2-normalised."""
    half = len(embeddings) // 2
    return l2_normalise(embeddings[:half] + embeddings[half:])


def _check_chips(chips: UInt8Array) -> UInt8Array:
    batch = np.asarray(chips)
    if batch.ndim == 3:
        batch = batch[None]
    if batch.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
        raise ValueError(f"chips must be [N, {CHIP_SIZE}, {CHIP_SIZE}, 3], got {batch.shape}")
    return np.ascontiguousarray(batch, dtype=np.uint8)
