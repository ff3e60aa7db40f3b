"""Bad input over real HTTP (a real uvicorn): image uploads, oversized and malformed bodies, then health.

Also: a service in OIDC mode verifying `lfr token`-style tokens against the JWKS the gateway serves.
"""

import asyncio
import io
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import uvicorn
from fastapi import APIRouter, Depends, FastAPI, File, UploadFile
from lfr_platform.auth import EmbeddedIssuer, Principal, jwks_router, require
from lfr_platform.http import create_app
from lfr_platform.images import accept_image
from lfr_platform.settings import ServiceSettings
from PIL import Image

router = APIRouter(prefix="/watchlists")


@router.post("/{watchlist_id}/images")
async def upload(
    watchlist_id: str, image: UploadFile = File(...), _: Principal = Depends(require("watchlists.add_entry"))
) -> dict:
    accepted = accept_image(await image.read())
    return {"width": accepted.width, "height": accepted.height}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def serve(app: FastAPI) -> AsyncIterator[str]:
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="off"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn exposes only a flag, no event)
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


@pytest.fixture
def settings(tmp_path: Path) -> ServiceSettings:
    return ServiceSettings(service="watchlists", data_dir=tmp_path)  # default 10 MB body limit


@pytest.fixture
async def base_url(settings: ServiceSettings) -> AsyncIterator[str]:
    async for url in serve(create_app("watchlists", [router], [], settings)):
        yield url


@pytest.fixture
def auth(settings: ServiceSettings) -> dict[str, str]:
    issuer = EmbeddedIssuer.load_or_create(
        settings.dev_key_path, settings.auth.issuer, settings.auth.audience
    )
    return {"Authorization": f"Bearer {issuer.issue_token('wm-1', 'watchlist_manager')}"}


def jpeg(width: int = 80, height: int = 60) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((height, width, 3), 128, np.uint8)).save(buffer, format="JPEG")
    return buffer.getvalue()


BAD_UPLOADS = {
    "truncated.jpg": (jpeg(400, 300)[:900], "truncated"),
    "photo.jpg": (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "SVG"),
    "notes.png": (b"just some text", "not a JPEG or PNG"),
    "empty.jpg": (b"", "empty"),
    "polyglot.jpg": (jpeg() + b"PK\x03\x04" + b"\x00" * 64, "polyglot"),
}


async def test_bad_uploads_get_clear_4xx_and_the_service_stays_healthy(base_url: str, auth: dict) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        ok = await http.post("/api/v1/watchlists/w1/images", headers=auth, files={"image": ("a.jpg", jpeg())})
        assert ok.json() == {"width": 80, "height": 60}
        for name, (content, expected) in BAD_UPLOADS.items():
            response = await http.post(
                "/api/v1/watchlists/w1/images", headers=auth, files={"image": (name, content, "image/jpeg")}
            )
            assert response.status_code == 400, (name, response.text)
            error = response.json()["error"]
            assert error["code"] == "invalid_image" and expected.lower() in error["message"].lower(), name

        missing = await http.post("/api/v1/watchlists/w1/images", headers=auth, files={"other": ("a", b"x")})
        assert (
            missing.status_code == 422
            and missing.json()["error"]["details"]["fields"][0]["field"] == "body.image"
        )

        big = b"\xff\xd8\xff" + b"\x00" * (50 * 1024 * 1024)
        response = await http.post(
            "/api/v1/watchlists/w1/images", headers=auth, files={"image": ("big.jpg", big)}
        )
        assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"

        async def chunked_multipart() -> AsyncIterator[bytes]:
            yield b'--b\r\nContent-Disposition: form-data; name="image"; filename="x.jpg"\r\n\r\n'
            for _ in range(12):
                yield b"\x00" * (1024 * 1024)
            yield b"\r\n--b--\r\n"

        response = await http.post(
            "/api/v1/watchlists/w1/images",
            headers={**auth, "Content-Type": "multipart/form-data; boundary=b"},
            content=chunked_multipart(),
        )
        assert response.status_code == 413 and response.json()["error"]["code"] == "payload_too_large"

        assert (await http.get("/healthz")).status_code == 200
        again = await http.post(
            "/api/v1/watchlists/w1/images", headers=auth, files={"image": ("a.jpg", jpeg())}
        )
        assert again.status_code == 200


async def test_oidc_mode_service_trusts_the_gateway_jwks(tmp_path: Path) -> None:
    issuer = EmbeddedIssuer.load_or_create(tmp_path / "auth" / "dev.pem", "lfr-dev", "lfr")
    gateway = FastAPI()
    gateway.include_router(jwks_router(issuer))
    async for gateway_url in serve(gateway):
        settings = ServiceSettings(
            service="watchlists",
            data_dir=tmp_path / "svc",
            auth={
                "mode": "oidc",
                "issuer": "lfr-dev",
                "audience": "lfr",
                "jwks_url": f"{gateway_url}/.well-known/jwks.json",
            },
        )
        app = create_app("watchlists", [router], [], settings)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as http:
            token = issuer.issue_token("wm-2", "watchlist_manager")
            response = await http.post(
                "/api/v1/watchlists/w/images",
                headers={"Authorization": f"Bearer {token}"},
                files={"image": ("a.jpg", jpeg())},
            )
            assert response.status_code == 200
            denied = await http.post(
                "/api/v1/watchlists/w/images",
                headers={"Authorization": f"Bearer {issuer.issue_token('op', 'operator')}"},
                files={"image": ("a.jpg", jpeg())},
            )
            assert denied.status_code == 403
