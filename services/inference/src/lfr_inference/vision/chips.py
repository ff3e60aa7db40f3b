"""Face chips: similarity-align a face to dlib's 150x150 chip from MTCNN's five landmarks.

dlib's embedder was trained on chips from ``get_face_chip_details(shape, 150, 0.25)``, which maps its
own 5-point landmarks (eye corners, nose base) to a fixed template. Our runtime detector (MTCNN) gives
different points (eye centres, nose tip, mouth corners), so we map those to where they fall on dlib's
chip: ``CHIP_TEMPLATE`` below. It was first derived from dlib's mean face shape (the constants in
``dlib/image_transforms/interpolation.h``) and then refitted on real faces so that our chips reproduce
dlib's chips (see ``lfr_inference.eval.fit_template`` and deploy/triton/MODEL_CARD.md).

Landmark convention (MTCNN order), image pixel (x, y), shape (5, 2) float32:
left eye centre, right eye centre, nose tip, left mouth corner, right mouth corner ("left" = image left).
"""

from __future__ import annotations

from typing import cast

import cv2
import numpy as np
from cv2.typing import MatLike

from lfr_inference.arrays import Float64Array, FloatArray, UInt8Array

CHIP_SIZE = 150
CHIP_PADDING = 0.25

# dlib's mean face (68-point indexing, points 17..67) — x and y in [0, 1] before padding.
_MEAN_X = np.array([
    0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856, 0.689483, 0.799124, 0.904991, 0.98004,
    0.490127, 0.490127, 0.490127, 0.490127, 0.36688, 0.426036, 0.490127, 0.554217, 0.613373, 0.121737,
    0.187122, 0.265825, 0.334606, 0.260918, 0.182743, 0.645647, 0.714428, 0.793132, 0.858516, 0.79751,
    0.719335, 0.254149, 0.340985, 0.428858, 0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721,
    0.490127, 0.423532, 0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874, 0.553364, 0.490127,
    0.42689,
])
_MEAN_Y = np.array([
    0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906, 0.0344891, 0.0187482, 0.038915,
    0.106454, 0.203352, 0.307009, 0.409805, 0.515625, 0.587326, 0.609345, 0.628106, 0.609345, 0.587326,
    0.216423, 0.178758, 0.179852, 0.231733, 0.245099, 0.244077, 0.231733, 0.179852, 0.178758, 0.216423,
    0.244077, 0.245099, 0.780233, 0.745405, 0.727388, 0.742578, 0.727388, 0.745405, 0.780233, 0.864805,
    0.902192, 0.909281, 0.902192, 0.864805, 0.784792, 0.778746, 0.785343, 0.778746, 0.784792, 0.824182,
    0.831803, 0.824182,
])


def _mean_face_point(indices: list[int]) -> Float64Array:
    rows = [i - 17 for i in indices]
    unit = np.array([_MEAN_X[rows].mean(), _MEAN_Y[rows].mean()])
    return (CHIP_PADDING + unit) / (2 * CHIP_PADDING + 1) * CHIP_SIZE


#: MTCNN points as dlib's mean face places them on the 150x150 chip (padding 0.25).
MEAN_FACE_TEMPLATE = np.stack([
    _mean_face_point(list(range(36, 42))),  # left eye centre
    _mean_face_point(list(range(42, 48))),  # right eye centre
    _mean_face_point([30]),                 # nose tip
    _mean_face_point([48]),                 # left mouth corner
    _mean_face_point([54]),                 # right mouth corner
]).astype(np.float32)

#: Where MTCNN's five points land on dlib's chip: the median over 297 LFW devtrain faces of MTCNN's
#: points mapped through dlib's own chip transform (``python -m lfr_inference.eval.fit_template``).
#: Within ~2 px of MEAN_FACE_TEMPLATE; the fit also absorbs MTCNN's own landmark offsets (the nose tip
#: and mouth sit 1-3 px lower than dlib's mean-face points).
CHIP_TEMPLATE = np.array([
    [48.654, 46.358],   # left eye centre
    [102.431, 46.601],  # right eye centre
    [75.192, 78.681],   # nose tip
    [51.769, 105.701],  # left mouth corner
    [98.492, 106.256],  # right mouth corner
], dtype=np.float32)


def similarity_transform(source: FloatArray, target: FloatArray) -> Float64Array:
    """Least-squares similarity (rotation, uniform scale, translation) mapping source -> target
    (Umeyama 1991, no reflection). Returns a 2x3 matrix."""
    src = np.asarray(source, dtype=np.float64)
    dst = np.asarray(target, dtype=np.float64)
    src_mean, dst_mean = src.mean(axis=0), dst.mean(axis=0)
    src_c, dst_c = src - src_mean, dst - dst_mean
    covariance = dst_c.T @ src_c / len(src)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.eye(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[1, 1] = -1
    rotation = u @ sign @ vt
    variance = (src_c**2).sum() / len(src)
    scale = float(np.trace(np.diag(singular) @ sign) / variance) if variance > 0 else 1.0
    matrix = np.empty((2, 3))
    matrix[:, :2] = scale * rotation
    matrix[:, 2] = dst_mean - matrix[:, :2] @ src_mean
    return matrix


def extract_chip(
    image_rgb: UInt8Array, landmarks5: FloatArray, template: FloatArray | None = None
) -> UInt8Array:
    """Warp the face to a (150, 150, 3) uint8 RGB chip aligned like dlib's ``get_face_chip``.

    Large faces are first halved with a Gaussian pyramid (as dlib does before bilinear sampling when
    shrinking by more than 2x) so the chip is not aliased.
    """
    # cv2's hints type every image as integer-or-float; pyrDown and warpAffine keep the input's uint8.
    image: MatLike = np.ascontiguousarray(image_rgb)
    points = np.asarray(landmarks5, dtype=np.float64).reshape(5, 2)
    chip_points = CHIP_TEMPLATE if template is None else np.asarray(template, dtype=np.float64)
    matrix = similarity_transform(points, chip_points)
    scale = float(np.hypot(matrix[0, 0], matrix[0, 1]))  # chip pixels per image pixel
    while scale < 0.5 and min(image.shape[:2]) >= 4:
        image = cv2.pyrDown(image)
        points = points / 2.0
        matrix = similarity_transform(points, chip_points)
        scale *= 2.0
    return cast(UInt8Array, cv2.warpAffine(
        image, matrix, (CHIP_SIZE, CHIP_SIZE), flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0),
    ))


def extract_chips(image_rgb: UInt8Array, landmarks: FloatArray) -> UInt8Array:
    """Chips for several faces of one image: landmarks (N, 5, 2) -> (N, 150, 150, 3) uint8."""
    marks = np.asarray(landmarks, dtype=np.float32).reshape(-1, 5, 2)
    if len(marks) == 0:
        return np.zeros((0, CHIP_SIZE, CHIP_SIZE, 3), dtype=np.uint8)
    return np.stack([extract_chip(image_rgb, m) for m in marks])
