"""`lfr bench e2e --json`: glass-to-alert latency on the embedded platform.

One camera streams an image sequence at `fps` (default 10) in which a watchlist person appears for half
a second every three seconds (each appearance a new track, so a new match). For every `AlertRaised` that
the operator's Server-Sent Events stream delivers, latency = arrival time - the frame's capture time
(`captured_at`, stamped by ingest when the frame was read). Same host, same clock.

    run_e2e_bench(gateway_url, data_dir, token_for, images_dir) ->
        {"p50_ms", "p95_ms", "samples", "fps", "cameras", "deployment_id"}
"""

from __future__ import annotations

import json
import statistics
import threading
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx

from lfr_alerts.scenario import USERS, Scenario, StepFailed, TokenFor, WatchlistPerson, blank_frame


class AlertListener:
    """Reads the alerts stream in a thread and stamps each AlertRaised with its arrival time."""

    def __init__(self, gateway_url: str, token: str, deployment_id: str) -> None:
        self.arrivals: list[tuple[datetime, dict[str, Any]]] = []
        self.error: str | None = None
        self._url = f"{gateway_url}/api/v1/alerts/stream"
        self._params = {"access_token": token, "deployment_id": deployment_id}
        self._stop = threading.Event()
        self._open = threading.Event()
        self._thread = threading.Thread(target=self._run, name="alert-listener", daemon=True)

    def start(self, timeout: float = 15.0) -> None:
        self._thread.start()
        if not self._open.wait(timeout):
            raise StepFailed("open the alerts stream", self.error or "no answer")

    def _run(self) -> None:
        try:
            with (
                httpx.Client(timeout=httpx.Timeout(10.0, read=None)) as client,
                client.stream("GET", self._url, params=self._params) as response,
            ):
                if response.status_code != 200:
                    self.error = f"HTTP {response.status_code}"
                    return
                self._open.set()
                event: dict[str, str] = {}
                for line in response.iter_lines():
                    if self._stop.is_set():
                        return
                    if line:
                        name, _, value = line.partition(":")
                        event[name] = value.lstrip()
                        continue
                    if event.get("event") == "alert":
                        body = json.loads(event["data"])
                        if body["event_type"] == "AlertRaised":
                            self.arrivals.append((datetime.now(UTC), body["alert"]))
                    event = {}
        except httpx.HTTPError as error:
            self.error = str(error)

    def stop(self) -> None:
        self._stop.set()

    def latencies_ms(self) -> list[float]:
        return [
            (arrived - datetime.fromisoformat(alert["captured_at"])).total_seconds() * 1000
            for arrived, alert in self.arrivals
        ]


def bench_frames(person: bytes, fps: float) -> list[bytes]:
    """Half a second of the person, then 2.5 s of an empty scene (longer than a track's expiry)."""
    empty = blank_frame()
    return [person] * max(int(fps * 0.5), 1) + [empty] * max(int(fps * 2.5), 1)


def run_e2e_bench(
    gateway_url: str,
    data_dir: Path,
    token_for: TokenFor,
    images_dir: Path,
    *,
    fps: float = 10.0,
    samples: int = 20,
    max_seconds: float = 180.0,
) -> dict[str, Any]:
    """Build a live deployment, collect `samples` alerts (or stop after `max_seconds`), end it."""
    scenario = Scenario(gateway_url.rstrip("/"), token_for, data_dir)
    person = WatchlistPerson(
        "entry-bench", "bench subject", (images_dir / "obama.jpg").read_bytes(), date(2024, 1, 1)
    )
    listener = AlertListener(
        scenario.gateway_url, token_for(USERS["operator"], "operator"), scenario.deployment_id
    )
    listener.start()
    try:
        scenario.build_live_deployment(
            [person], bench_frames((images_dir / "obama2.jpg").read_bytes(), fps), fps
        )
        deadline = time.monotonic() + max_seconds
        while len(listener.arrivals) < samples and time.monotonic() < deadline:
            time.sleep(0.2)  # the listener thread collects; this only paces the check
    finally:
        listener.stop()
        try:
            scenario.end_deployment()
        except StepFailed:
            pass  # the figures stand even if the deployment was never started
        scenario.close()
    latencies = sorted(listener.latencies_ms())
    return {
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(_percentile(latencies, 0.95), 1) if latencies else None,
        "samples": len(latencies),
        "fps": fps,
        "cameras": 1,
        "deployment_id": scenario.deployment_id,
    }


def _percentile(ordered: list[float], fraction: float) -> float:
    if len(ordered) == 1:
        return ordered[0]
    rank = fraction * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def run_alerts_leg_bench(
    gateway_url: str,
    kafka_bootstrap: str,
    token_for: TokenFor,
    *,
    samples: int = 20,
    fps: float = 10.0,
    topic: str = "lfr.inference.events.v1",
) -> dict[str, Any]:
    """The alerts leg alone: a `FaceMatched` published as inference publishes it (captured_at = now) ->
    the alert on the operator's stream through the gateway. Usable while the upstream services are not
    wired; the full glass-to-alert figure is `run_e2e_bench`."""
    import asyncio
    import uuid

    deployment_id = f"bench-{uuid.uuid4().hex[:8]}"
    listener = AlertListener(gateway_url.rstrip("/"), token_for(USERS["operator"], "operator"), deployment_id)
    listener.start()
    try:
        asyncio.run(_publish_matches(kafka_bootstrap, topic, deployment_id, samples, fps))
        deadline = time.monotonic() + 30
        while len(listener.arrivals) < samples and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        listener.stop()
    latencies = sorted(listener.latencies_ms())
    return {
        "p50_ms": round(statistics.median(latencies), 1) if latencies else None,
        "p95_ms": round(_percentile(latencies, 0.95), 1) if latencies else None,
        "samples": len(latencies),
        "fps": fps,
        "cameras": 1,
        "leg": "face_matched_to_sse",
        "deployment_id": deployment_id,
    }


async def _publish_matches(bootstrap: str, topic: str, deployment_id: str, count: int, fps: float) -> None:
    import asyncio
    import uuid

    from aiokafka import AIOKafkaProducer
    from lfr_platform.messaging.wire import EventMessage

    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for index in range(count):
            now = datetime.now(UTC)
            track = uuid.uuid4().hex
            message = EventMessage(
                event_id=uuid.uuid4(),
                stream_id=track,
                stream_type="sighting",
                version=1,
                position=index + 1,
                event_type="FaceMatched",
                schema_version=1,
                data={
                    "deployment_id": deployment_id,
                    "camera_id": "bench-cam",
                    "track_id": track,
                    "captured_at": now.isoformat(),
                    "score": 0.8,
                    "threshold": 0.6,
                    "watchlist_id": "wl",
                    "entry_id": "entry-bench",
                    "crop_blob_key": f"alert_media/{deployment_id}/{track}",
                    "model_version": "bench",
                    "quality": 1.0,
                },
                metadata={"actor": "inference", "role": "system"},
                occurred_at=now,
                recorded_at=now,
                source="inference",
            )
            await producer.send_and_wait(
                topic,
                message.to_bytes(),
                key=deployment_id.encode(),
                headers=message.headers(),
            )
            await asyncio.sleep(1 / fps)  # the pace of a 10 fps camera's matches, at most
    finally:
        await producer.stop()
