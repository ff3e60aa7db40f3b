"""MTCNN face detector (Zhang et al., 2016) in numpy around three ONNX networks.

The stages follow facenet-pytorch's `detect_face`, whose weights we export (tools/export_mtcnn.py):
an image pyramid feeds the fully convolutional P-Net, whose proposals are merged by non-maximum suppression
(NMS), squared, cropped and re-scored by R-Net (24x24), then O-Net (48x48), which also places 5 landmarks.
Frames are detected in batches: frames of one size share each P-Net call per pyramid level, and all
candidate crops of all frames go to R-Net and O-Net together, which is what lets Triton batch them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import cv2
import numpy as np

from lfr_inference.arrays import BoolArray, Float32Array, IndexArray, UInt8Array
from lfr_inference.vision.backends import ONET, PNET, RNET, InferenceBackend

_STRIDE, _CELL = 2, 12


@dataclass(frozen=True)
class Detection:
    """One face. `box` is (x1, y1, x2, y2) in image pixels; `landmarks5` is (5, 2) float32 (x, y) in MTCNN
    order: left eye, right eye, nose tip, left mouth corner, right mouth corner (left/right as seen in
    the image)."""

    box: Float32Array
    score: float
    landmarks5: Float32Array

    @property
    def width(self) -> float:
        return float(self.box[2] - self.box[0])

    @property
    def height(self) -> float:
        return float(self.box[3] - self.box[1])


@dataclass(frozen=True)
class DetectorConfig:
    min_face_px: int = 40  # smallest face searched for; larger is faster (fewer pyramid levels)
    pyramid_factor: float = 0.709  # scale step between pyramid levels; smaller is faster, coarser
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)  # P-, R-, O-Net face probability


def pyramid_scales(height: int, width: int, config: DetectorConfig) -> list[float]:
    scale = _CELL / config.min_face_px
    shortest = min(height, width) * scale
    scales = []
    while shortest >= _CELL:
        scales.append(scale)
        scale *= config.pyramid_factor
        shortest *= config.pyramid_factor
    return scales


def normalise(batch_nhwc: UInt8Array) -> Float32Array:
    """uint8 NHWC RGB -> float32 NCHW in [-1, 1), as the networks were trained."""
    return ((batch_nhwc.astype(np.float32) - 127.5) * 0.0078125).transpose(0, 3, 1, 2).copy()


def nms(boxes: Float32Array, scores: Float32Array, threshold: float, mode: str = "union") -> IndexArray:
    """Greedy non-maximum suppression; returns kept indices, best first. `mode="min"` divides the
    intersection by the smaller box (suppresses boxes nested inside a better one)."""
    if len(boxes) == 0:
        return np.empty(0, dtype=np.int64)
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        w = np.maximum(0.0, np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]) + 1)
        inter = w * h
        denom = np.minimum(area[best], area[rest]) if mode == "min" else area[best] + area[rest] - inter
        order = rest[inter / denom <= threshold]
    return np.asarray(keep, dtype=np.int64)


def nms_per_image(
    boxes: Float32Array, scores: Float32Array, image_ids: IndexArray, threshold: float, mode: str = "union"
) -> IndexArray:
    keep = []
    for image_id in np.unique(image_ids):
        members = np.flatnonzero(image_ids == image_id)
        keep.append(members[nms(boxes[members], scores[members], threshold, mode)])
    return np.concatenate(keep) if keep else np.empty(0, dtype=np.int64)


def regress(boxes: Float32Array, reg: Float32Array, inclusive: bool = True) -> Float32Array:
    """Apply the networks' bounding-box regression (offsets relative to box size; P-Net's reference
    implementation measures its boxes exclusively, R-/O-Net's inclusively)."""
    extra = 1 if inclusive else 0
    w = boxes[:, 2] - boxes[:, 0] + extra
    h = boxes[:, 3] - boxes[:, 1] + extra
    moved: Float32Array = boxes[:, :4] + reg[:, :4] * np.stack([w, h, w, h], axis=1)
    return moved


def square(boxes: Float32Array) -> Float32Array:
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    x1 = boxes[:, 0] + w * 0.5 - side * 0.5
    y1 = boxes[:, 1] + h * 0.5 - side * 0.5
    return np.stack([x1, y1, x1 + side, y1 + side], axis=1)


def proposals(
    reg: Float32Array, prob: Float32Array, scale: float, threshold: float
) -> tuple[Float32Array, Float32Array, Float32Array, IndexArray]:
    """P-Net maps -> candidates in image pixels: (boxes [K,4], scores [K], reg [K,4], image ids [K])."""
    face = prob[:, 1]
    image_ids, ys, xs = np.nonzero(face >= threshold)
    cells = np.stack([xs, ys], axis=1).astype(np.float32)
    q1 = np.floor((_STRIDE * cells + 1) / scale)
    q2 = np.floor((_STRIDE * cells + _CELL) / scale)
    offsets = reg[image_ids, :, ys, xs]
    return np.concatenate([q1, q2], axis=1), face[image_ids, ys, xs], offsets, image_ids


def crop_batch(
    images: Sequence[UInt8Array], boxes: Float32Array, image_ids: IndexArray, size: int
) -> UInt8Array:
    """Crop each (1-based, clipped) box from its image and resize to size x size; uint8 NHWC."""
    out = np.empty((len(boxes), size, size, 3), dtype=np.uint8)
    for k, (box, image_id) in enumerate(zip(boxes.astype(np.int64), image_ids, strict=True)):
        image = images[image_id]
        h, w = image.shape[:2]
        x, y = max(box[0], 1), max(box[1], 1)
        ex, ey = min(box[2], w), min(box[3], h)
        out[k] = cv2.resize(image[y - 1 : ey, x - 1 : ex], (size, size), interpolation=cv2.INTER_AREA)
    return out


def _croppable(images: Sequence[UInt8Array], boxes: Float32Array, image_ids: IndexArray) -> BoolArray:
    """Boxes that keep at least one pixel after clipping to their image."""
    ibox = boxes.astype(np.int64)
    heights = np.array([images[i].shape[0] for i in image_ids])
    widths = np.array([images[i].shape[1] for i in image_ids])
    x, y = np.maximum(ibox[:, 0], 1), np.maximum(ibox[:, 1], 1)
    ex, ey = np.minimum(ibox[:, 2], widths), np.minimum(ibox[:, 3], heights)
    keeps_a_pixel: BoolArray = (ex > x - 1) & (ey > y - 1) & (ex - x + 1 > 0) & (ey - y + 1 > 0)
    return keeps_a_pixel


class MtcnnDetector:
    def __init__(self, backend: InferenceBackend, config: DetectorConfig | None = None) -> None:
        self.backend = backend
        self.config = config or DetectorConfig()

    async def detect(self, image_rgb: UInt8Array) -> list[Detection]:
        return (await self.detect_batch([image_rgb]))[0]

    async def detect_batch(self, images: Sequence[UInt8Array]) -> list[list[Detection]]:
        for image in images:
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                raise ValueError("images must be uint8 RGB arrays of shape (H, W, 3)")
        boxes, image_ids = await self._propose(images)
        boxes, image_ids = await self._refine(images, boxes, image_ids)
        return await self._output(images, boxes, image_ids)

    async def _pnet_level(
        self, images: Sequence[UInt8Array], ids: list[int], scale: float
    ) -> tuple[Float32Array, Float32Array, Float32Array, IndexArray]:
        h, w = images[ids[0]].shape[:2]
        size = (int(w * scale + 1), int(h * scale + 1))
        # cv2's hints type every image as integer-or-float; resizing keeps the images' uint8.
        resized = [cv2.resize(images[i], size, interpolation=cv2.INTER_AREA) for i in ids]
        batch = cast(UInt8Array, np.stack(resized))
        out = await self.backend.infer(PNET, {"input": normalise(batch)}, ["bbox_reg", "prob"])
        threshold = self.config.thresholds[0]
        boxes, scores, reg, local_ids = proposals(out["bbox_reg"], out["prob"], scale, threshold)
        image_ids = np.asarray(ids, dtype=np.int64)[local_ids]
        keep = nms_per_image(boxes, scores, image_ids, 0.5)
        return boxes[keep], scores[keep], reg[keep], image_ids[keep]

    async def _propose(self, images: Sequence[UInt8Array]) -> tuple[Float32Array, IndexArray]:
        by_shape: dict[tuple[int, ...], list[int]] = {}
        for i, image in enumerate(images):
            by_shape.setdefault(image.shape, []).append(i)
        levels = [
            self._pnet_level(images, ids, scale)
            for shape, ids in by_shape.items()
            for scale in pyramid_scales(shape[0], shape[1], self.config)
        ]
        results = await asyncio.gather(*levels)
        if not results:
            return np.empty((0, 5), np.float32), np.empty(0, np.int64)
        boxes, scores, reg, image_ids = (np.concatenate(parts) for parts in zip(*results, strict=True))
        keep = nms_per_image(boxes, scores, image_ids, 0.7)
        boxes, scores, reg, image_ids = boxes[keep], scores[keep], reg[keep], image_ids[keep]
        return np.column_stack([square(regress(boxes, reg, inclusive=False)), scores]), image_ids

    async def _refine(
        self, images: Sequence[UInt8Array], boxes: Float32Array, image_ids: IndexArray
    ) -> tuple[Float32Array, IndexArray]:
        ok = _croppable(images, boxes, image_ids) if len(boxes) else np.zeros(0, bool)
        boxes, image_ids = boxes[ok], image_ids[ok]
        if len(boxes) == 0:
            return boxes, image_ids
        crops = normalise(crop_batch(images, boxes, image_ids, 24))
        out = await self.backend.infer(RNET, {"input": crops}, ["bbox_reg", "prob"])
        scores = out["prob"][:, 1]
        passed = scores > self.config.thresholds[1]
        boxes, scores, image_ids = boxes[passed], scores[passed], image_ids[passed]
        reg = out["bbox_reg"][passed]
        keep = nms_per_image(boxes, scores, image_ids, 0.7)
        boxes, scores, reg, image_ids = boxes[keep], scores[keep], reg[keep], image_ids[keep]
        return np.column_stack([square(regress(boxes, reg)), scores]), image_ids

    async def _output(
        self, images: Sequence[UInt8Array], boxes: Float32Array, image_ids: IndexArray
    ) -> list[list[Detection]]:
        per_image: list[list[Detection]] = [[] for _ in images]
        ok = _croppable(images, boxes, image_ids) if len(boxes) else np.zeros(0, bool)
        boxes, image_ids = boxes[ok], image_ids[ok]
        if len(boxes) == 0:
            return per_image
        crops = normalise(crop_batch(images, boxes, image_ids, 48))
        out = await self.backend.infer(ONET, {"input": crops}, ["bbox_reg", "landmarks", "prob"])
        scores = out["prob"][:, 1]
        passed = scores > self.config.thresholds[2]
        boxes, scores, image_ids = boxes[passed], scores[passed], image_ids[passed]
        reg, marks = out["bbox_reg"][passed], out["landmarks"][passed]
        w = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
        h = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
        points = np.stack([w * marks[:, :5] + boxes[:, :1] - 1, h * marks[:, 5:] + boxes[:, 1:2] - 1], axis=2)
        final = regress(boxes, reg)
        keep = nms_per_image(final, scores, image_ids, 0.7, mode="min")
        for k in keep:
            image_h, image_w = images[image_ids[k]].shape[:2]
            box = np.clip(final[k], 0, [image_w, image_h, image_w, image_h]).astype(np.float32)
            per_image[image_ids[k]].append(
                Detection(box=box, score=float(scores[k]), landmarks5=points[k].astype(np.float32))
            )
        for detections in per_image:
            detections.sort(key=lambda d: -d.score)
        return per_image
