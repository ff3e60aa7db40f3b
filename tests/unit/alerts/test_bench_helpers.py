"""The e2e bench's pure helpers: percentiles, the appearance/absence frame cycle, latency arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from lfr_alerts.bench import AlertListener, _percentile, bench_frames


def test_percentile_interpolates_between_ranks() -> None:
    assert _percentile([10.0], 0.95) == 10.0
    assert _percentile([0.0, 100.0], 0.5) == 50.0
    assert _percentile([float(v) for v in range(1, 101)], 0.95) == 95.05


def test_frames_show_the_person_briefly_then_an_empty_scene_longer_than_a_track_lives() -> None:
    frames = bench_frames(b"person-jpeg", fps=10)
    assert frames[:5] == [b"person-jpeg"] * 5
    empty = frames[5:]
    assert len(empty) == 25 and all(f.startswith(b"\xff\xd8\xff") for f in empty)  # 2.5 s of JPEG


def test_latency_is_arrival_minus_capture() -> None:
    listener = AlertListener("http://unused", "token", "dep")
    captured = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    listener.arrivals.append((captured + timedelta(milliseconds=240), {"captured_at": captured.isoformat()}))
    assert listener.latencies_ms() == [240.0]
