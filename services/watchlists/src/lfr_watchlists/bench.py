"""`lfr bench enrol --json`: entries per second enrolled through the real watchlists app.

Each entry is one multipart POST through the real FastAPI app (JWT, image intake, rules, enrolment over
gRPC, sealing into the blob store, event store on SQLite), against an in-process gRPC server that runs
the inference service's real Enrol (FacePipeline on onnxruntime) and a DataKeys stand-in over a real
KeyRing. Images are augmented copies (scale, shift, flip, light, JPEG quality) of the registry's real
face photos; generating them is not timed. They show two people only, so duplicate refusal is turned
off here (the nearest-template search still runs for every entry). Needs the lfr-inference package
(a workspace checkout has it).
"""

from __future__ import annotations

import asyncio
import io
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageEnhance

BOXES = {  # face boxes in the registry photos (x1, y1, x2, y2)
    "obama.jpg": (366, 79, 619, 425),
    "obama2.jpg": (193, 215, 475, 636),
    "obama3.jpg": (634, 249, 912, 608),
    "biden.jpg": (423, 171, 715, 567),
}


def _default_images_dir() -> Path:
    cache = Path(os.environ.get("LFR_TEST_IMAGE_CACHE", Path.home() / ".cache" / "lfr-test-images"))
    candidate = cache / "face_recognition-1.3.0"
    if candidate.is_dir():
        return candidate
    try:  # a source checkout: the test suite's registry fetcher
        from tests.fixtures.faces import ensure_face_images
    except ImportError as exc:
        raise FileNotFoundError("no face images: set LFR_TEST_IMAGE_CACHE or pass images_dir") from exc
    return ensure_face_images()


def augmented_faces(images_dir: Path, count: int, seed: int = 7) -> list[bytes]:
    """`count` JPEGs of real faces, each a different random variation of a registry photo."""
    rng = np.random.default_rng(seed)
    sources = {name: Image.open(images_dir / name).convert("RGB") for name in BOXES}
    out: list[bytes] = []
    for i in range(count):
        name = list(BOXES)[i % len(BOXES)]
        x1, y1, x2, y2 = BOXES[name]
        w, h = x2 - x1, y2 - y1
        margin = rng.uniform(0.4, 0.7)
        dx, dy = rng.uniform(-0.1, 0.1) * w, rng.uniform(-0.1, 0.1) * h
        crop = sources[name].crop((int(max(0, x1 - margin * w + dx)), int(max(0, y1 - margin * h + dy)),
                                   int(x2 + margin * w + dx), int(y2 + 0.5 * margin * h + dy)))
        height = int(rng.uniform(260, 420))
        width = max(1, int(crop.width * height / crop.height))
        crop = crop.resize((width, height), Image.Resampling.BILINEAR)
        if rng.random() < 0.5:
            crop = crop.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        crop = ImageEnhance.Brightness(crop).enhance(rng.uniform(0.8, 1.2))
        buffer = io.BytesIO()
        crop.save(buffer, format="JPEG", quality=int(rng.uniform(75, 95)))
        out.append(buffer.getvalue())
    return out


async def _bench(entries: int, images_dir: Path, concurrency: int) -> dict[str, Any]:
    import grpc
    import httpx
    from lfr_inference.app.enrolment import ENROL_DETECTOR, ENROL_QUALITY, Enroller
    from lfr_inference.entrypoints.grpc.enrolment import enrolment_registrar
    from lfr_inference.vision.backends import OnnxRuntimeBackend
    from lfr_inference.vision.embedder import MODEL_VERSION
    from lfr_inference.vision.pipeline import FacePipeline
    from lfr_platform.auth import EmbeddedIssuer
    from lfr_platform.crypto import DataClass, InMemoryWrappedKeyStore, KeyRing, new_key
    from lfr_platform.http import create_app
    from lfr_proto.lfr.keys.v1 import keys_pb2, keys_pb2_grpc

    from lfr_watchlists.bootstrap import build_components
    from lfr_watchlists.entrypoints.http.routes import watchlists_router
    from lfr_watchlists.settings import WatchlistsSettings

    class RingKeys(keys_pb2_grpc.DataKeysServicer):  # stands in for the deployments service
        def __init__(self, ring: KeyRing) -> None:
            self.ring = ring

        async def GetDataKey(self, request: Any, context: Any) -> Any:  # noqa: N802
            key = await self.ring.data_key(request.deployment_id, request.data_class)
            return keys_pb2.DataKey(key_id=f"{request.deployment_id}/{request.data_class}", key=key)

    images = augmented_faces(images_dir, entries)
    ring = KeyRing(new_key(), InMemoryWrappedKeyStore())
    await ring.ensure_key("dep-bench", DataClass.WATCHLIST_MEDIA)
    peers = grpc.aio.server()
    keys_pb2_grpc.add_DataKeysServicer_to_server(RingKeys(ring), peers)
    enroller = Enroller(FacePipeline(OnnxRuntimeBackend(), ENROL_DETECTOR, ENROL_QUALITY), MODEL_VERSION)
    enrolment_registrar(enroller)(peers)
    target = f"127.0.0.1:{peers.add_insecure_port('127.0.0.1:0')}"
    await peers.start()
    with tempfile.TemporaryDirectory(prefix="lfr-enrol-bench-") as data_dir:
        settings = WatchlistsSettings(data_dir=Path(data_dir), duplicate_similarity=1.01,
                                      grpc_targets={"deployments": target, "inference": target})
        parts = build_components(settings)
        await parts.kit.start_database()
        app = create_app("watchlists", [watchlists_router(parts.http)], parts.readiness_checks, settings)
        issuer = EmbeddedIssuer.load_or_create(settings.dev_key_path, settings.auth.issuer,
                                               settings.auth.audience)
        headers = {"Authorization": f"Bearer {issuer.issue_token('bench', 'watchlist_manager', 3600)}"}
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench",
                                   headers=headers, timeout=120.0)
        await client.post("/api/v1/watchlists", json={"deployment_id": "dep-bench", "name": "bench",
                                                      "watchlist_id": "wl-bench"})
        form = {"category": "wanted_on_warrant", "reason": "benchmark", "image_source": "custody",
                "image_taken_on": "2025-01-10", "age_band": "18_plus", "approved_by": "bench"}
        refused: dict[str, int] = {}
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for image in images:
            queue.put_nowait(image)

        async def worker() -> None:
            while not queue.empty():
                image = queue.get_nowait()
                response = await client.post("/api/v1/watchlists/wl-bench/entries", data=form,
                                             files=[("images", ("face.jpg", image, "image/jpeg"))])
                if response.status_code != 201:
                    error = response.json()["error"]
                    reason = error.get("details", {}).get("reason") or error["code"]
                    refused[reason] = refused.get(reason, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
        await client.aclose()
        await parts.close()
        await parts.kit.db.dispose()
    await peers.stop(None)
    enrolled = entries - sum(refused.values())
    return {"entries": entries, "seconds": round(seconds, 2), "entries_per_s": round(entries / seconds, 2),
            "refused": sum(refused.values()), "enrolled": enrolled, "refusals_by_reason": refused,
            "concurrency": concurrency, "duplicate_check": "search runs, refusal off (2 identities)",
            "model_version": MODEL_VERSION, "store": "sqlite"}


def run_enrol_bench(entries: int = 1000, images_dir: Path | None = None, concurrency: int = 1
                    ) -> dict[str, Any]:
    return asyncio.run(_bench(entries, images_dir or _default_images_dir(), concurrency))
