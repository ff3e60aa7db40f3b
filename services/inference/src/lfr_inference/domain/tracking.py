"""Face tracks per camera: one person walking past is one track, and raises at most one match per
watchlist entry.

A simple, cheap tracker is enough at 10 fps: a detection joins the live track whose last box overlaps it
most (IoU), or failing any overlap, whose centre is nearest within one face width (a fast walker at a
low frame rate) plus `jump_per_second` widths per second of gap beyond one frame (frames dropped under
load); otherwise it starts a new track. Erring towards joining is deliberate: a wrongly joined track can
only hold back a second alert for the *same* watchlist entry, while a wrongly split one repeats alerts.
Tracks unseen for `expiry_seconds` are forgotten. A track holds no biometric data: its last box (a
position in the frame), times, and which entries it already alerted on.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from lfr_inference.arrays import Float32Array


@dataclass
class Track:
    track_id: str
    box: Float32Array  # (x1, y1, x2, y2) of the last detection
    first_seen: float
    last_seen: float
    observations: int = 1
    matched_entries: dict[str, float] = field(default_factory=dict)  # entry id -> quality of the shot sent
    events_recorded: int = 0  # version of the track's `sighting` stream


def iou(a: Float32Array, b: Float32Array) -> float:
    x1, y1 = max(a[0], b[0]), max(a[1], b[1])
    x2, y2 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0.0, float(x2 - x1)) * max(0.0, float(y2 - y1))
    union = float((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])) - inter
    return inter / union if union > 0 else 0.0


def _centre_distance_in_widths(a: Float32Array, b: Float32Array) -> float:
    ca, cb = (a[:2] + a[2:]) / 2, (b[:2] + b[2:]) / 2
    width = max(float(a[2] - a[0]), float(b[2] - b[0]), 1.0)
    return float(np.hypot(*(ca - cb))) / width


class CameraTracker:
    def __init__(
        self,
        expiry_seconds: float = 2.0,
        min_iou: float = 0.2,
        max_centre_jump: float = 1.0,
        jump_per_second: float = 4.0,
        new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
    ) -> None:
        self.expiry_seconds = expiry_seconds
        self.min_iou = min_iou
        self.max_centre_jump = max_centre_jump
        self.jump_per_second = jump_per_second
        self._new_id = new_id
        self.tracks: dict[str, Track] = {}

    def expire(self, now: float) -> list[Track]:
        gone = [t for t in self.tracks.values() if now - t.last_seen > self.expiry_seconds]
        for track in gone:
            del self.tracks[track.track_id]
        return gone

    def update(self, now: float, boxes: Sequence[Float32Array]) -> list[Track]:
        """Assign each box (one frame's detections) to a track; returns the track of each box."""
        self.expire(now)
        candidates = list(self.tracks.values())
        pairs: list[tuple[float, int, Track]] = []
        for index, box in enumerate(boxes):
            for track in candidates:
                overlap = iou(box, track.box)
                if overlap >= self.min_iou:
                    pairs.append((2.0 + overlap, index, track))  # any overlap beats a centre match
                else:
                    # Frames skipped under load leave bigger gaps: allow more movement the longer unseen.
                    gap = max(0.0, now - track.last_seen - 0.1)
                    allowed = self.max_centre_jump + self.jump_per_second * gap
                    jump = _centre_distance_in_widths(box, track.box)
                    if jump <= allowed:
                        pairs.append((1.0 - jump / (allowed + 1e-9), index, track))
        assigned: dict[int, Track] = {}
        taken: set[str] = set()
        for _, index, track in sorted(pairs, key=lambda p: -p[0]):  # greedy, best affinity first
            if index in assigned or track.track_id in taken:
                continue
            assigned[index] = track
            taken.add(track.track_id)
        result: list[Track] = []
        for index, box in enumerate(boxes):
            found = assigned.get(index)
            if found is None:
                found = Track(self._new_id(), np.asarray(box, np.float32), now, now)
                self.tracks[found.track_id] = found
            else:
                found.box = np.asarray(box, np.float32)
                found.last_seen = now
                found.observations += 1
            result.append(found)
        return result

    def should_alert(self, track: Track, entry_id: str, quality: float) -> bool:
        """True the first time a track crosses the threshold for an entry (and records it); a later,
        even better, shot of the same track and entry raises nothing more."""
        if entry_id in track.matched_entries:
            return False
        track.matched_entries[entry_id] = quality
        return True
