"""Quality gate: is a detected face good enough to be embedded and compared?

Faces that are too small, too blurred or turned too far give unreliable scores (more false and missed
alerts), so they are dropped before embedding. Only the verdict's reason is ever counted (a tally of
reasons per deployment); nothing about the face itself is stored.

Measures (cheap, from the detector's own output):
* size: the shorter side of the face box, in image pixels.
* sharpness: variance of the Laplacian of the face box in grey, resampled to 96x96 so that the measure
  does not depend on face size. On LFW images sharp faces measure 56-500; a Gaussian blur of sigma 1.5
  (at that scale) brings them to 13-90, sigma 3 below 25.
* pose, from the 5 landmarks in the frame where the eyes are level: roll is the eye line's angle; the yaw
  proxy is the nose's horizontal offset from the eyes' midpoint in inter-eye distances (0 when frontal,
  about +-0.5 when the nose reaches an eye, i.e. near profile); the pitch proxy is where the nose sits
  between the eye line (0) and the mouth line (1), about 0.5 when frontal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

from lfr_inference.arrays import Float32Array, UInt8Array
from lfr_inference.vision.detector import Detection

_SHARPNESS_SIDE = 96


class RejectionReason(StrEnum):
    TOO_SMALL = "too_small"
    TOO_BLURRED = "too_blurred"
    POSE = "pose"
    LANDMARKS_OUTSIDE = "landmarks_outside"


@dataclass(frozen=True)
class QualityConfig:
    min_face_px: float = 40.0
    min_sharpness: float = 25.0
    max_abs_yaw: float = 0.35
    max_abs_roll_deg: float = 35.0
    pitch_range: tuple[float, float] = (0.2, 0.8)


@dataclass(frozen=True)
class QualityVerdict:
    accepted: bool
    reason: RejectionReason | None
    face_px: float
    sharpness: float
    yaw: float
    roll_deg: float
    pitch: float
    score: float  # in [0, 1], higher is better: picks the best shot of a track

    def __bool__(self) -> bool:
        return self.accepted


def sharpness(image_rgb: UInt8Array, box: Float32Array) -> float:
    h, w = image_rgb.shape[:2]
    x1, y1 = max(int(box[0]), 0), max(int(box[1]), 0)
    x2, y2 = min(int(math.ceil(box[2])), w), min(int(math.ceil(box[3])), h)
    if x2 - x1 < 2 or y2 - y1 < 2:
        return 0.0
    grey = cv2.cvtColor(image_rgb[y1:y2, x1:x2], cv2.COLOR_RGB2GRAY)
    grey = cv2.resize(grey, (_SHARPNESS_SIDE, _SHARPNESS_SIDE), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(grey, cv2.CV_64F).var())


def pose(landmarks5: Float32Array) -> tuple[float, float, float]:
    """(yaw proxy, roll in degrees, pitch proxy) from MTCNN-ordered landmarks."""
    left_eye, right_eye, nose, mouth_left, mouth_right = np.asarray(landmarks5, dtype=np.float64)
    eye_vector = right_eye - left_eye
    roll = math.atan2(eye_vector[1], eye_vector[0])
    inter_eye = float(np.hypot(*eye_vector))
    if inter_eye < 1e-6:
        return math.inf, math.degrees(roll), math.inf
    cos, sin = math.cos(-roll), math.sin(-roll)
    rotation = np.array([[cos, -sin], [sin, cos]])
    eyes_mid = (left_eye + right_eye) / 2
    nose_r = rotation @ (nose - eyes_mid)
    mouth_r = rotation @ ((mouth_left + mouth_right) / 2 - eyes_mid)
    yaw = float(nose_r[0] / inter_eye)
    pitch = float(nose_r[1] / mouth_r[1]) if mouth_r[1] > 1e-6 else math.inf
    return yaw, math.degrees(roll), pitch


def _landmarks_inside(detection: Detection, image_shape: tuple[int, ...]) -> bool:
    h, w = image_shape[:2]
    points = detection.landmarks5
    return bool(np.all(points[:, 0] >= 0) and np.all(points[:, 0] < w)
                and np.all(points[:, 1] >= 0) and np.all(points[:, 1] < h))


def assess(
    image_rgb: UInt8Array, detection: Detection, config: QualityConfig | None = None
) -> QualityVerdict:
    config = config or QualityConfig()
    face_px = min(detection.width, detection.height)
    sharp = sharpness(image_rgb, detection.box)
    yaw, roll, pitch = pose(detection.landmarks5)
    reason: RejectionReason | None = None
    if face_px < config.min_face_px:
        reason = RejectionReason.TOO_SMALL
    elif not _landmarks_inside(detection, image_rgb.shape):
        reason = RejectionReason.LANDMARKS_OUTSIDE
    elif (abs(yaw) > config.max_abs_yaw or abs(roll) > config.max_abs_roll_deg
          or not config.pitch_range[0] <= pitch <= config.pitch_range[1]):
        reason = RejectionReason.POSE
    elif sharp < config.min_sharpness:
        reason = RejectionReason.TOO_BLURRED
    # Best-shot score: bigger, sharper, more frontal is better; each term saturates at "good enough".
    size_term = min(face_px / (2 * config.min_face_px), 1.0)
    sharp_term = min(sharp / (4 * config.min_sharpness), 1.0)
    frontal_term = max(0.0, 1.0 - abs(yaw) / max(config.max_abs_yaw, 1e-6)) if math.isfinite(yaw) else 0.0
    score = detection.score * (size_term + sharp_term + frontal_term) / 3
    return QualityVerdict(
        accepted=reason is None, reason=reason, face_px=face_px, sharpness=sharp,
        yaw=yaw, roll_deg=roll, pitch=pitch, score=float(score),
    )
