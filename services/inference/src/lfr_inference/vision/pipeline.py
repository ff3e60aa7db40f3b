"""Per-frame vision pipeline: RGB frames -> faces -> quality gate -> aligned chips -> embeddings.

Frames are processed in batches (e.g. the latest frame of every camera): detection runs on the whole
batch, and the accepted faces of all frames are embedded together in one call, which is what makes a
GPU (via Triton's dynamic batching) or the CPU's vector units worthwhile. The networks run on any
`InferenceBackend`: in-process onnxruntime or a Triton server, with the same models and outputs.

Nothing here is persisted. The pipeline returns face observations (with the chip and embedding, both
biometric) to its caller, which matches them and drops every non-matching face at once; the only thing
kept is `tally`, a count of faces by outcome, which carries no biometric data.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from lfr_inference.arrays import Float32Array, UInt8Array
from lfr_inference.vision.backends import EMBEDDER, InferenceBackend
from lfr_inference.vision.chips import CHIP_SIZE, extract_chip
from lfr_inference.vision.detector import Detection, DetectorConfig, MtcnnDetector
from lfr_inference.vision.embedder import INPUT_NAME, OUTPUT_EMBEDDING, l2_normalise
from lfr_inference.vision.quality import QualityConfig, QualityVerdict, assess

#: Tally keys (counts only): faces seen, faces embedded, and "rejected:<reason>" per quality reason.
DETECTED, EMBEDDED = "detected", "embedded"


@dataclass(frozen=True)
class FaceObservation:
    detection: Detection
    quality: QualityVerdict
    chip: UInt8Array  # (150, 150, 3), aligned
    embedding: Float32Array  # (128,), L2-normalised


@dataclass
class FrameFaces:
    faces: list[FaceObservation] = field(default_factory=list)
    rejected: Counter[str] = field(default_factory=Counter)


class FacePipeline:
    def __init__(
        self,
        backend: InferenceBackend,
        detector_config: DetectorConfig | None = None,
        quality_config: QualityConfig | None = None,
        max_embed_batch: int = 64,
        flip_average: bool = False,
    ) -> None:
        self.backend = backend
        self.detector = MtcnnDetector(backend, detector_config)
        self.quality_config = quality_config or QualityConfig()
        self.max_embed_batch = max_embed_batch
        self.flip_average = flip_average  # as `Embedder(flip_average=True)`: chip and mirror, averaged
        self.tally: Counter[str] = Counter()

    async def embed(self, chips: UInt8Array) -> Float32Array:
        """Aligned chips (N, 150, 150, 3) uint8 -> (N, 128) float32 L2-normalised embeddings."""
        if len(chips) == 0:
            return np.zeros((0, 128), dtype=np.float32)
        chips = np.ascontiguousarray(chips, dtype=np.uint8)
        count = len(chips)
        if self.flip_average:  # one request for both views, so they share batches
            chips = np.concatenate([chips, chips[:, :, ::-1, :]])
        parts = await asyncio.gather(*(  # in flight together: Triton batches or spreads them
            self.backend.infer(EMBEDDER, {INPUT_NAME: chips[start : start + self.max_embed_batch]},
                               [OUTPUT_EMBEDDING])
            for start in range(0, len(chips), self.max_embed_batch)
        ))
        embeddings = np.concatenate([p[OUTPUT_EMBEDDING] for p in parts]).astype(np.float32, copy=False)
        if self.flip_average:
            embeddings = l2_normalise(embeddings[:count] + embeddings[count:])
        return embeddings

    async def process(self, frames: Sequence[UInt8Array]) -> list[FrameFaces]:
        """Detect, gate, align and embed the faces of a batch of uint8 RGB frames (H, W, 3)."""
        detections = await self.detector.detect_batch(frames)
        results = [FrameFaces() for _ in frames]
        pending: list[tuple[int, Detection, QualityVerdict, UInt8Array]] = []
        for index, (frame, frame_detections) in enumerate(zip(frames, detections, strict=True)):
            for detection in frame_detections:
                self.tally[DETECTED] += 1
                verdict = assess(frame, detection, self.quality_config)
                if not verdict.accepted:
                    key = f"rejected:{verdict.reason}"
                    results[index].rejected[key] += 1
                    self.tally[key] += 1
                    continue
                pending.append((index, detection, verdict, extract_chip(frame, detection.landmarks5)))
        chips = (np.stack([chip for *_, chip in pending]) if pending
                 else np.zeros((0, CHIP_SIZE, CHIP_SIZE, 3), dtype=np.uint8))
        embeddings = await self.embed(chips)
        for (index, detection, verdict, chip), embedding in zip(pending, embeddings, strict=True):
            results[index].faces.append(FaceObservation(detection, verdict, chip, embedding))
        self.tally[EMBEDDED] += len(pending)
        return results

    async def process_frame(self, frame: UInt8Array) -> FrameFaces:
        return (await self.process([frame]))[0]
