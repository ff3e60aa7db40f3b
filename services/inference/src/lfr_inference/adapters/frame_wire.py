"""The wire contract of `lfr.ingest.frames.v1` (ingest produces: lfr_ingest.adapters.publisher; inference
consumes). Both sides must agree byte for byte; the names below are ingest's.

Topic: the current slot of `RotatingTopic("lfr.ingest.frames.v1")`. Key: camera id. Value:
`lfr_platform.crypto.seal(frames data key, JPEG, frame_aad(camera, deployment, capture_ns))`.
Headers (UTF-8):

| header | value |
| --- | --- |
| `capture_ns` | capture time, integer nanoseconds since the Unix epoch (UTC) |
| `deployment_id` | the deployment the camera is attached to |
| `camera_id` | camera id (also the key) |
| `frame_seq` | per-camera frame sequence number (integer) |
| `key_id` | id of the `frames` data key that sealed the value (DataKeys.GetDataKey's key_id) |
| `roi` | the zone of recognition, a JSON polygon `[[x, y], ...]` in 0..1 frame coordinates |
| `width`, `height`, `content_type` | informative (`image/jpeg`) |

The associated data binds a ciphertext to its camera, deployment and capture time, so a frame replayed
under another camera or deployment fails to open. Nothing here is biometric.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

H_CAPTURED_AT_NS = "capture_ns"
H_DEPLOYMENT_ID = "deployment_id"
H_CAMERA_ID = "camera_id"
H_FRAME_SEQ = "frame_seq"
H_KEY_ID = "key_id"
H_ROI = "roi"


def frame_aad(camera_id: str, deployment_id: str, capture_ns: int) -> bytes:
    """Identical to lfr_ingest.adapters.publisher.frame_aad."""
    return f"lfr-frame:v1:{camera_id}:{deployment_id}:{capture_ns}".encode()


@dataclass(frozen=True)
class FrameHeader:
    deployment_id: str
    camera_id: str
    captured_at_ns: int
    frame_seq: int
    key_id: str
    roi: tuple[tuple[float, float], ...] | None = None  # fractions of the frame (0..1)

    @property
    def captured_at_s(self) -> float:
        return self.captured_at_ns / 1e9

    @property
    def aad(self) -> bytes:
        return frame_aad(self.camera_id, self.deployment_id, self.captured_at_ns)

    def headers(self) -> list[tuple[str, bytes]]:
        headers = [
            (H_CAPTURED_AT_NS, str(self.captured_at_ns).encode()),
            (H_DEPLOYMENT_ID, self.deployment_id.encode()),
            (H_CAMERA_ID, self.camera_id.encode()),
            (H_FRAME_SEQ, str(self.frame_seq).encode()),
            (H_KEY_ID, self.key_id.encode()),
        ]
        if self.roi is not None:
            headers.append((H_ROI, json.dumps([list(p) for p in self.roi]).encode()))
        return headers


class BadFrameHeader(ValueError):
    pass


def parse_headers(headers: Sequence[tuple[str, bytes]] | None) -> FrameHeader:
    values = {name: value for name, value in headers or ()}
    try:
        roi_raw = values.get(H_ROI)
        roi = None
        if roi_raw:
            roi = tuple((float(x), float(y)) for x, y in json.loads(roi_raw))
            if len(roi) < 3 or any(not 0.0 <= v <= 1.0 for point in roi for v in point):
                raise BadFrameHeader("a zone of recognition is 3+ points in 0..1 frame coordinates")
        return FrameHeader(
            deployment_id=values[H_DEPLOYMENT_ID].decode(),
            camera_id=values[H_CAMERA_ID].decode(),
            captured_at_ns=int(values[H_CAPTURED_AT_NS]),
            frame_seq=int(values[H_FRAME_SEQ]),
            key_id=values[H_KEY_ID].decode(),
            roi=roi,
        )
    except (KeyError, ValueError, TypeError) as error:
        raise BadFrameHeader(f"frame headers incomplete or malformed: {type(error).__name__}") from None
