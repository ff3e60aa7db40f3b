"""The per-camera tracker: one person walking past is one track; two people are two; a track unseen for
longer than its expiry is forgotten; a track alerts once per watchlist entry."""

from __future__ import annotations

import numpy as np
from lfr_inference.domain.tracking import CameraTracker, iou


def box(x: float, y: float = 100, size: float = 80) -> np.ndarray:
    return np.array([x, y, x + size, y + size], np.float32)


def test_a_walk_past_at_ten_fps_is_one_track():
    tracker = CameraTracker(expiry_seconds=2.0)
    ids = {tracker.update(t * 0.1, [box(20 + 25 * t)])[0].track_id for t in range(10)}
    assert len(ids) == 1


def test_a_fast_walker_without_overlap_still_follows_by_centre():
    tracker = CameraTracker(expiry_seconds=2.0)
    first = tracker.update(0.0, [box(0)])[0]
    second = tracker.update(0.1, [box(70)])[0]  # no IoU left, centre moved < one face width
    assert iou(box(0), box(90)) == 0 and first.track_id == second.track_id


def test_two_people_crossing_keep_their_tracks():
    tracker = CameraTracker(expiry_seconds=2.0)
    tracks = [tracker.update(t * 0.1, [box(20 + 20 * t), box(400 - 20 * t, y=300)]) for t in range(8)]
    assert len({pair[0].track_id for pair in tracks}) == 1
    assert len({pair[1].track_id for pair in tracks}) == 1
    assert tracks[0][0].track_id != tracks[0][1].track_id


def test_a_track_expires_after_being_unseen():
    tracker = CameraTracker(expiry_seconds=2.0)
    first = tracker.update(0.0, [box(100)])[0]
    assert tracker.update(1.5, [box(100)])[0].track_id == first.track_id
    assert tracker.update(3.6, [box(100)])[0].track_id != first.track_id
    assert len(tracker.tracks) == 1


def test_one_alert_per_track_and_entry_even_for_a_better_shot():
    tracker = CameraTracker()
    track = tracker.update(0.0, [box(100)])[0]
    assert tracker.should_alert(track, "entry-1", quality=0.5)
    assert not tracker.should_alert(track, "entry-1", quality=0.9)
    assert tracker.should_alert(track, "entry-2", quality=0.5)
    other = tracker.update(0.0, [box(100), box(400)])[1]
    assert tracker.should_alert(other, "entry-1", quality=0.5)
