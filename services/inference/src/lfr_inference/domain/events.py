"""Inference's own events (see docs/architecture.md, event catalogue). Never any biometric data: a match
refers to its crop by the key of an encrypted blob; a tally is counts only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TypedDict

from lfr_platform.aggregate import DomainEvent

SIGHTING, TALLY = "sighting", "tally"
SYSTEM_ACTOR, SYSTEM_ROLE = "inference", "system"


@dataclass(frozen=True, kw_only=True)
class FaceMatched(DomainEvent):
    """A face of a track scored at or above the deployment's threshold against a watchlist entry."""

    deployment_id: str
    camera_id: str
    track_id: str
    captured_at: datetime
    score: float  # calibrated
    threshold: float
    watchlist_id: str | None
    entry_id: str
    crop_blob_key: str  # alert_media/<deployment>/<blob>, AES-GCM under the deployment's key
    model_version: str
    quality: float


@dataclass(frozen=True, kw_only=True)
class FacesProcessedTallied(DomainEvent):
    deployment_id: str
    camera_id: str
    period_start: datetime
    period_end: datetime
    frames: int = 0
    faces_detected: int = 0
    faces_rejected_quality: int = 0
    faces_compared: int = 0
    matches: int = 0
    suppressed: int = 0
    # Added to the catalogue's fields: frames not processed (deployment not live, stale, undecryptable),
    # by reason, so a halted deployment's frames are visibly counted and dropped.
    frames_dropped: int = 0
    dropped_reasons: dict[str, int] = field(default_factory=dict)


class TallyCounts(TypedDict):
    """A tally's counters, as FacesProcessedTallied takes them."""

    frames: int
    faces_detected: int
    faces_rejected_quality: int
    faces_compared: int
    matches: int
    suppressed: int
    frames_dropped: int
    dropped_reasons: dict[str, int]


@dataclass
class Tally:
    """Running counters of one deployment + camera for the current period."""

    frames: int = 0
    faces_detected: int = 0
    faces_rejected_quality: int = 0
    faces_compared: int = 0
    matches: int = 0
    suppressed: int = 0
    frames_dropped: int = 0
    dropped_reasons: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str) -> None:
        self.frames_dropped += 1
        self.dropped_reasons[reason] = self.dropped_reasons.get(reason, 0) + 1

    @property
    def empty(self) -> bool:
        return not (self.frames or self.faces_detected or self.frames_dropped)

    def counts(self) -> TallyCounts:
        return {
            "frames": self.frames,
            "faces_detected": self.faces_detected,
            "faces_rejected_quality": self.faces_rejected_quality,
            "faces_compared": self.faces_compared,
            "matches": self.matches,
            "suppressed": self.suppressed,
            "frames_dropped": self.frames_dropped,
            "dropped_reasons": dict(self.dropped_reasons),
        }
