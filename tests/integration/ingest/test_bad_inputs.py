"""Bad sources put a clear error state on their own camera; the service and the other cameras go on."""

from __future__ import annotations

import socket

from tests.fixtures.waiting import wait_until

from ._harness import Harness
from ._media import write_corrupt, write_image_sequence, write_unsupported_codec, write_video


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # nothing listens once the socket closes


async def test_each_bad_source_errors_alone_while_good_cameras_publish(ingest: Harness) -> None:
    media = ingest.media
    write_video(media / "good.mp4")
    (media / "empty.mkv").write_bytes(b"")
    write_corrupt(media / "corrupt.mp4")
    write_unsupported_codec(media / "unknown-codec.avi")
    write_image_sequence(media / "stills")
    cameras = {
        "good-file": "file://" + str(media / "good.mp4"),
        "good-stills": "file://" + str(media / "stills") + "/",
        "empty-file": "file://" + str(media / "empty.mkv"),
        "corrupt-file": "file://" + str(media / "corrupt.mp4"),
        "odd-codec": "file://" + str(media / "unknown-codec.avi"),
        "missing-file": "file://" + str(media / "missing.mp4"),
        "no-host": f"rtsp://127.0.0.1:{closed_port()}/cam",
        "no-mjpeg": f"http://127.0.0.1:{closed_port()}/video.mjpg",
    }
    for camera_id, url in cameras.items():
        response = await ingest.register(camera_id, url, fps=5, max_width=320, max_height=240)
        assert response.status_code == 201, response.text
    await ingest.go_live("dep-bad", list(cameras))

    expected = {
        "empty-file": "empty_file",
        "corrupt-file": "corrupt_stream",
        "odd-codec": "unsupported_codec",
        "missing-file": "not_found",
        "no-host": "unreachable",
        "no-mjpeg": "unreachable",
    }
    for camera_id, code in expected.items():

        async def errored(camera_id: str = camera_id) -> dict | None:
            health = await ingest.health(camera_id)
            return health if health["last_error"] else None

        async def recorded(camera_id: str = camera_id) -> list[str]:
            return [d["code"] for t, d in await ingest.camera_events(camera_id) if t == "CameraErrored"]

        health = await wait_until(errored, f"an error state on {camera_id}")
        assert health["last_error"]["code"] == code, (camera_id, health["last_error"])
        assert not health["connected"] and health["frames_published"] == 0
        assert await wait_until(recorded, f"CameraErrored of {camera_id}") == [code]

    await wait_until(lambda: len(ingest.frames_of("good-file")) >= 5, "frames from the good file")
    await wait_until(lambda: len(ingest.frames_of("good-stills")) >= 3, "frames from the image sequence")
    stills = [r for r in ingest.frames_of("good-stills")]
    assert {dict(r.headers)["width"] for r in stills} == {b"320"}  # 640x480 stills scaled to the maximum

    # A retrying camera does not flood the audit trail: the same error is recorded once.
    types = await ingest.event_types("corrupt-file")
    assert types.count("CameraErrored") == 1
    status = (await ingest.http.get("/api/v1/ingest/status", headers=ingest.auth("operator"))).json()
    assert status["streaming"] == len(cameras) and status["connected"] >= 2
    metrics = (await ingest.http.get("/metrics")).text
    assert 'lfr_ingest_camera_error{camera="corrupt-file",code="corrupt_stream"} 1.0' in metrics
    assert "file://" not in metrics and "rtsp://" not in metrics
