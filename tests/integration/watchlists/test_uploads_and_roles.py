"""Upload hardening (bad-input corpus -> a 4xx naming the problem) and the role matrix on every route."""

from __future__ import annotations

import io

import pytest
from lfr_platform.auth import ROLES, is_allowed, route_permissions
from PIL import Image

from tests.integration.watchlists._env import API, WatchlistsEnv


def _huge_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("1", (9000, 6000)).save(buffer, format="PNG")  # 54 MP declared; compresses to a few KB
    return buffer.getvalue()


def _exif_jpeg(good: bytes) -> bytes:
    image = Image.open(io.BytesIO(good))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    exif[0x9003] = "2019:01:01 10:00:00"
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif.tobytes())
    return buffer.getvalue()


CORPUS = {
    "truncated jpeg": (lambda good: good[: len(good) // 2], "truncated"),
    "huge png": (lambda good: _huge_png(), "pixels"),
    "svg": (lambda good: b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>', "SVG"),
    "not an image": (lambda good: b"name,reason\nJohn,warrant\n", "not a JPEG or PNG"),
    "empty": (lambda good: b"", "empty"),
    "gif": (lambda good: b"GIF89a" + b"\x00" * 100, "GIF"),
    "jpeg with trailing zip": (lambda good: good + b"PK\x03\x04" + b"\x00" * 64, "after its end marker"),
}


@pytest.mark.parametrize("case", list(CORPUS))
async def test_bad_uploads_are_refused_naming_the_problem(env: WatchlistsEnv, faces, case) -> None:
    wl = await env.create()
    make, words = CORPUS[case]
    dates = "2025-01-01,2025-01-02"
    response = await env.add(wl, [faces["biden"], make(faces["obama"])], image_taken_on=dates)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_image" and words in error["message"] and "image 1" in error["message"]
    assert error["details"]["image_index"] == 1
    assert len(await env.events(wl)) == 1


async def test_oversized_upload_is_refused(env: WatchlistsEnv, faces) -> None:
    wl = await env.create()
    env.parts.http.image_limits = type(env.parts.http.image_limits)(max_bytes=len(faces["obama"]) - 1)
    response = await env.add(wl, [faces["obama"]])
    assert response.status_code == 400 and "limit" in response.json()["error"]["message"]


async def test_no_image_at_all_is_refused(env: WatchlistsEnv) -> None:
    wl = await env.create()
    response = await env.add(wl, [])
    assert (response.status_code, response.json()["error"]["code"]) == (400, "images_required")


async def test_exif_is_stripped_before_storage(env: WatchlistsEnv, faces) -> None:
    wl = await env.create()
    upload = _exif_jpeg(faces["obama"])
    assert b"SecretCam" in upload
    assert (await env.add(wl, [upload], entry_id="e-1")).status_code == 201
    async with env.client("watchlist_manager") as client:
        stored = (await client.get(f"{API}/{wl}/entries/e-1/images/0")).content
    assert b"SecretCam" not in stored and not Image.open(io.BytesIO(stored)).getexif()


def _concrete(path: str) -> str:
    return (path.replace("{watchlist_id}", "wl-1").replace("{entry_id}", "e-1").replace("{index}", "0"))


async def test_every_route_checks_the_role_matrix(env: WatchlistsEnv, faces) -> None:
    wl = await env.create()
    assert (await env.add(wl, [faces["obama"]], entry_id="e-1")).status_code == 201
    table = {k: v for k, v in route_permissions(env.app).items() if k[1].startswith(API)
             and not k[1].endswith(("/healthz", "/readyz", "/metrics", "openapi.json", "/docs"))}
    assert len(table) == 9
    for (method, path), permission in table.items():
        assert permission is not None and permission.startswith("watchlists."), (method, path)
        async with env.client() as anonymous:
            assert (await anonymous.request(method, _concrete(path))).status_code == 401, (method, path)
        for role in ROLES:
            async with env.client(role.value) as client:
                # Read-only probes for allowed roles would change state; only refusals are sent for those.
                if is_allowed(role, permission) and method != "GET":
                    continue
                status = (await client.request(method, _concrete(path))).status_code
            assert (status == 403) == (not is_allowed(role, permission)), (method, path, role, status)
    image_route = ("GET", f"{API}/{{watchlist_id}}/entries/{{entry_id}}/images/{{index}}")
    assert table[image_route] == "watchlists.view_media"
    assert table[("GET", f"{API}/{{watchlist_id}}/entries/{{entry_id}}")] == "watchlists.view_personal"
