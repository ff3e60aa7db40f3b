"""RTSP cameras against a real GStreamer RTSP server: frames reach the real broker sealed with the
deployment's key, a halt stops them, a source that drops and returns is reconnected, and up/down
events are recorded for the audit trail."""

from __future__ import annotations

import io
import json

from lfr_ingest.adapters.publisher import frame_aad
from lfr_platform.crypto import open_
from PIL import Image

from tests.fixtures.waiting import wait_until

from ._harness import Harness

HALT_BOUND_S = 3.0  # the bar is 1 s (see `lfr bench ingest`); generous here for a loaded CI machine


def headers_of(record) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {k: v.decode() for k, v in record.headers}


async def test_rtsp_frames_are_sealed_published_and_stop_on_halt(ingest: Harness, rtsp_server) -> None:  # type: ignore[no-untyped-def]
    zone = [[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]]
    response = await ingest.register("cam-1", rtsp_server.url, fps=5, zone=zone)
    assert response.status_code == 201, response.text
    await ingest.go_live("dep-1", ["cam-1"])

    await wait_until(lambda: len(ingest.frames_of("cam-1")) >= 3, "three frames of cam-1 on the frames topic")
    record = ingest.frames_of("cam-1")[0]
    headers = headers_of(record)
    assert headers["deployment_id"] == "dep-1" and headers["camera_id"] == "cam-1"
    assert headers["key_id"] == "dep-1/frames" and headers["content_type"] == "image/jpeg"
    assert json.loads(headers["roi"]) == zone
    capture_ns = int(headers["capture_ns"])
    key = await ingest.frames_key("dep-1")
    assert record.value is not None and not record.value.startswith(b"\xff\xd8")  # not a plain JPEG
    jpeg = open_(key, record.value, frame_aad("cam-1", "dep-1", capture_ns))
    with Image.open(io.BytesIO(jpeg)) as image:
        assert image.format == "JPEG" and image.size == (320, 240)
    seqs = [int(headers_of(r)["frame_seq"]) for r in ingest.frames_of("cam-1")]
    assert seqs == sorted(seqs)
    assert "CameraAttached" in await ingest.event_types("cam-1")
    await wait_until(lambda: _has(ingest, "cam-1", "CameraConnected"), "CameraConnected recorded")
    health = await ingest.health("cam-1")
    assert health["streaming"] and health["connected"] and health["frames_published"] >= 3

    halted_at = await ingest.feed.send("dep-1", "DeploymentHalted", {"reason": "crowd surge"})
    await wait_until(lambda: _has(ingest, "cam-1", "CameraDisconnected"), "CameraDisconnected after the halt")
    events = await ingest.camera_events("cam-1")
    assert events[-1] == ("CameraDisconnected", {"deployment_id": "dep-1", "reason": "deployment_halted"})
    # Every frame sent before the halt has arrived once a marker sent after it (same partition) arrives.
    marker_topic = ingest.frames_of("cam-1")[-1].topic
    marker_partition = ingest.frames_of("cam-1")[-1].partition
    await ingest.feed.producer.send_and_wait(
        marker_topic, b"marker", key=b"cam-1", partition=marker_partition
    )
    await wait_until(lambda: any(r.value == b"marker" for r in ingest.frames), "the marker frame")
    late = [
        r.timestamp / 1000 - halted_at
        for r in ingest.frames_of("cam-1")
        if r.value != b"marker" and r.timestamp / 1000 > halted_at
    ]
    assert all(delay < HALT_BOUND_S for delay in late), late
    assert not (await ingest.health("cam-1"))["streaming"]


async def test_rtsp_source_that_drops_and_returns_is_reconnected(ingest: Harness, rtsp_server) -> None:  # type: ignore[no-untyped-def]
    assert (await ingest.register("cam-2", rtsp_server.url, fps=5)).status_code == 201
    await ingest.go_live("dep-2", ["cam-2"])
    await wait_until(lambda: _has(ingest, "cam-2", "CameraConnected"), "first connection")

    rtsp_server.stop()
    await wait_until(lambda: _has(ingest, "cam-2", "CameraDisconnected"), "the drop recorded")
    health = await wait_until(lambda: _errored(ingest, "cam-2"), "an error state in health")
    assert health["last_error"]["code"] in {"stream_ended", "unreachable", "timeout", "connection_lost"}
    published_before = len(ingest.frames_of("cam-2"))

    rtsp_server.start()

    async def reconnected() -> bool:
        return await _count(ingest, "cam-2", "CameraConnected") == 2

    await wait_until(reconnected, "the reconnection recorded")
    await wait_until(
        lambda: len(ingest.frames_of("cam-2")) > published_before, "frames after the reconnection"
    )
    types = await ingest.event_types("cam-2")
    first_up = types.index("CameraConnected")
    assert "CameraDisconnected" in types[first_up:] and types[-1] == "CameraConnected"
    assert (await ingest.health("cam-2"))["reconnects"] >= 1


async def test_rtsp_over_udp_and_wrong_credentials(ingest: Harness, rtsp_server_factory) -> None:  # type: ignore[no-untyped-def]
    guarded = rtsp_server_factory(user="viewer", password="right-pass")
    open_server = rtsp_server_factory()
    assert (
        await ingest.register("cam-bad-creds", guarded.url_with("viewer", "wrong-pass"))
    ).status_code == 201
    assert (
        await ingest.register("cam-good-creds", guarded.url_with("viewer", "right-pass"))
    ).status_code == 201
    assert (await ingest.register("cam-udp", open_server.url, rtsp_transport="udp")).status_code == 201
    await ingest.go_live("dep-3", ["cam-bad-creds", "cam-good-creds", "cam-udp"])

    health = await wait_until(lambda: _errored(ingest, "cam-bad-creds"), "the credentials refusal")
    assert health["last_error"]["code"] == "unauthorized"
    await wait_until(lambda: len(ingest.frames_of("cam-good-creds")) >= 2, "frames from the good credentials")
    await wait_until(lambda: len(ingest.frames_of("cam-udp")) >= 2, "frames over RTSP/UDP")
    events = await ingest.camera_events("cam-bad-creds")
    assert (
        "CameraErrored",
        {
            "deployment_id": "dep-3",
            "code": "unauthorized",
            "message": "the source refused the credentials (401/403)",
        },
    ) in events
    listed = (await ingest.http.get("/api/v1/cameras", headers=ingest.auth("admin"))).json()
    everything = json.dumps(listed) + json.dumps(events) + json.dumps(health)
    assert "wrong-pass" not in everything and "right-pass" not in everything
    assert {c["source_url"] for c in listed if c["id"] != "cam-udp"} == {
        f"rtsp://***@127.0.0.1:{guarded.port}/cam"
    }


async def _has(ingest: Harness, camera_id: str, event_type: str) -> bool:
    return event_type in await ingest.event_types(camera_id)


async def _count(ingest: Harness, camera_id: str, event_type: str) -> int:
    return (await ingest.event_types(camera_id)).count(event_type)


async def _errored(ingest: Harness, camera_id: str):  # type: ignore[no-untyped-def]
    health = await ingest.health(camera_id)
    return health if health["last_error"] else None
