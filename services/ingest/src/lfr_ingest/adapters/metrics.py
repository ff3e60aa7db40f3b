"""Prometheus metrics for camera streams, read from the supervisor's health at scrape time (so the decoder
threads never touch the registry). Labels: camera id only (never URLs, never content)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector, CollectorRegistry


class CameraMetrics(Collector):
    def __init__(
        self, camera_ids: Callable[[], Iterable[str]], health: Callable[[str], dict[str, Any]]
    ) -> None:
        self._camera_ids = camera_ids
        self._health = health

    def collect(self) -> Iterator[Any]:
        connected = GaugeMetricFamily(
            "lfr_ingest_camera_connected", "1 while the source delivers frames", labels=["camera"]
        )
        streaming = GaugeMetricFamily(
            "lfr_ingest_camera_streaming", "1 while a stream is authorised and running", labels=["camera"]
        )
        fps_in = GaugeMetricFamily("lfr_ingest_fps_in", "Frames decoded per second", labels=["camera"])
        fps_out = GaugeMetricFamily("lfr_ingest_fps_out", "Frames published per second", labels=["camera"])
        decoded = CounterMetricFamily("lfr_ingest_frames_decoded", "Frames decoded", labels=["camera"])
        published = CounterMetricFamily(
            "lfr_ingest_frames_published", "Frames published to Kafka", labels=["camera"]
        )
        dropped = CounterMetricFamily(
            "lfr_ingest_frames_dropped", "Oldest frames dropped under back-pressure", labels=["camera"]
        )
        errored = GaugeMetricFamily(
            "lfr_ingest_camera_error", "1 while the last attempt failed", labels=["camera", "code"]
        )
        for camera_id in self._camera_ids():
            h = self._health(camera_id)
            connected.add_metric([camera_id], 1.0 if h["connected"] else 0.0)
            streaming.add_metric([camera_id], 1.0 if h["streaming"] else 0.0)
            fps_in.add_metric([camera_id], h["fps_in"])
            fps_out.add_metric([camera_id], h["fps_out"])
            decoded.add_metric([camera_id], h["frames_decoded"])
            published.add_metric([camera_id], h["frames_published"])
            dropped.add_metric([camera_id], h["frames_dropped"])
            if h["last_error"] and not h["connected"]:
                errored.add_metric([camera_id, h["last_error"]["code"]], 1.0)
        yield from (connected, streaming, fps_in, fps_out, decoded, published, dropped, errored)


def register_camera_metrics(registry: CollectorRegistry, metrics: CameraMetrics) -> None:
    registry.register(metrics)
