"""The camera registry over REST: allow-list refusals name the problem, credentials never come back,
permissions follow the policy matrix, attachment follows the deployment's Form 1."""

from __future__ import annotations

import json

from tests.fixtures.waiting import wait_until

from ._harness import Harness

REFUSED = [
    ("ftp://cam.example/stream", "source_scheme_not_allowed"),
    ("gopher://cam.example/", "source_scheme_not_allowed"),
    ("javascript:alert(1)", "source_scheme_not_allowed"),
    ("rtsp://169.254.169.254/latest", "source_address_forbidden"),
    ("http://169.254.10.20/video.mjpg", "source_address_forbidden"),
    ("rtsp://[fe80::1]/cam", "source_address_forbidden"),
    ("http://metadata.google.internal/computeMetadata", "source_address_forbidden"),
    ("rtsp://[::ffff:169.254.169.254]/x", "source_address_forbidden"),
    ("file:///etc/passwd", "source_path_outside_media_root"),
    ("file:///{media}/../secrets/video.mp4", "source_path_outside_media_root"),
    ("file:///{media}/notes.txt", "source_file_type_not_allowed"),
    ("file://user:pw@host/{media}/a.mp4", "source_url_invalid"),
    ("rtsp:///nohost", "source_url_invalid"),
]


async def test_source_urls_outside_the_allow_list_are_refused_with_a_named_reason(ingest: Harness) -> None:
    # One service for every case: starting one per case would cost seconds each.
    for url, code in REFUSED:
        response = await ingest.register("cam-x", url.replace("/{media}", str(ingest.media)))
        assert response.status_code == 422, (url, response.text)
        error = response.json()["error"]
        assert error["code"] == code and error["message"], url
    assert (await ingest.http.get("/api/v1/cameras/cam-x", headers=ingest.auth("admin"))).status_code == 404


async def test_credentials_are_sealed_at_rest_and_never_returned(ingest: Harness) -> None:
    url = "rtsp://operator:pa55word@10.0.0.7:8554/live?token=abc123"
    response = await ingest.register("cam-a", url, zone=[[0, 0], [1, 0], [0.5, 1]], fps=8)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["source_url"] == "rtsp://***@10.0.0.7:8554/live?token=***"
    assert body["zone"] == [[0, 0], [1, 0], [0.5, 1]] and body["fps"] == 8
    stored = await ingest.parts.kit.db.reader().read_stream("cam-a")
    at_rest = json.dumps([dict(e.data) for e in stored])
    assert "pa55word" not in at_rest and "abc123" not in at_rest and "operator" not in at_rest
    listed = await ingest.http.get("/api/v1/cameras", headers=ingest.auth("oversight"))
    assert "pa55word" not in listed.text and listed.json()[0]["id"] == "cam-a"

    # Changing only the name keeps the sealed URL; changing the URL re-seals and is recorded.
    renamed = await ingest.http.patch(
        "/api/v1/cameras/cam-a", json={"name": "North gate"}, headers=ingest.auth("admin")
    )
    assert renamed.status_code == 200 and renamed.json()["source_url"] == body["source_url"]
    moved = await ingest.http.patch(
        "/api/v1/cameras/cam-a",
        json={"source_url": "rtsp://operator:n3w@10.0.0.8/live"},
        headers=ingest.auth("admin"),
    )
    assert moved.json()["source_url"] == "rtsp://***@10.0.0.8/live"
    events = await ingest.camera_events("cam-a")
    assert [d["changed"] for t, d in events if t == "CameraUpdated"] == [["name"], ["source_url"]]


async def test_permissions_follow_the_policy_matrix(ingest: Harness) -> None:
    body = {"id": "cam-p", "name": "P", "source_url": "rtsp://10.0.0.9/cam"}
    assert (await ingest.http.post("/api/v1/cameras", json=body)).status_code == 401
    for role in ("operator", "silver_commander", "oversight"):
        response = await ingest.http.post("/api/v1/cameras", json=body, headers=ingest.auth(role))
        assert response.status_code == 403, role
    assert (
        await ingest.http.post("/api/v1/cameras", json=body, headers=ingest.auth("admin"))
    ).status_code == 201
    status = await ingest.http.get("/api/v1/ingest/status", headers=ingest.auth("oversight"))
    assert status.status_code == 403  # ingest.read: operator, silver, admin
    attach = await ingest.http.post(
        "/api/v1/cameras/cam-p/attach", json={"deployment_id": "d"}, headers=ingest.auth("admin")
    )
    assert attach.status_code == 403  # attaching is the silver commander's


async def test_attachment_follows_form1_and_detach_is_recorded(ingest: Harness) -> None:
    for camera_id in ("cam-f1", "cam-other"):
        assert (await ingest.register(camera_id, "rtsp://10.0.0.5/cam")).status_code == 201
    silver = ingest.auth("silver_commander", "silver-7")

    unknown = await ingest.http.post(
        "/api/v1/cameras/cam-f1/attach", json={"deployment_id": "dep-x"}, headers=silver
    )
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "deployment_unknown"

    await ingest.ring.ensure_key("dep-x", "frames")
    await ingest.feed.send(
        "dep-x",
        "DeploymentDrafted",
        {
            "form": {
                "window": {"start": "2026-01-01T00:00:00+00:00", "end": "2026-01-02T00:00:00+00:00"},
                "cameras": ["cam-f1"],
            }
        },
    )
    await wait_until(lambda: "dep-x" in ingest.parts.ingest.registry.deployments, "the draft observed")
    refused = await ingest.http.post(
        "/api/v1/cameras/cam-other/attach", json={"deployment_id": "dep-x"}, headers=silver
    )
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "camera_not_on_form1"
    attached = await ingest.http.post(
        "/api/v1/cameras/cam-f1/attach", json={"deployment_id": "dep-x"}, headers=silver
    )
    assert attached.status_code == 200 and attached.json()["deployment_id"] == "dep-x"
    health = await ingest.health("cam-f1")
    assert not health["streaming"] and health["not_streaming_reason"] == "deployment_draft"

    decommission = await ingest.http.post(
        "/api/v1/cameras/cam-f1/decommission", json={"reason": "broken"}, headers=ingest.auth("admin")
    )
    assert decommission.status_code == 422 and decommission.json()["error"]["code"] == "camera_attached"
    detached = await ingest.http.post(
        "/api/v1/cameras/cam-f1/detach",
        json={"deployment_id": "dep-x", "reason": "lens fogged"},
        headers=silver,
    )
    assert detached.status_code == 200 and detached.json()["deployment_id"] is None
    stored = await ingest.parts.kit.db.reader().read_stream("cam-f1")
    last = stored[-1]
    assert last.event_type == "CameraDetached" and last.metadata.actor == "silver-7"
    assert last.metadata.role == "silver_commander" and dict(last.data)["reason"] == "lens fogged"
