"""The biometric vault: watchlist images, templates and entries' personal details sealed (AES-GCM)
under the deployment's `watchlist_media` key and kept in the blob store at
`watchlist_media/<deployment>/<blob-id>`, so retention's purge and key shredding erase all three.

The blob key is the associated data, so a blob copied elsewhere does not open. Templates are stored as
little-endian float32. Callers see blob ids only; events carry those ids, never the bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

import numpy as np
from lfr_platform.blobs import BlobStore, blob_key, new_blob_id
from lfr_platform.crypto import DataClass, DecryptionFailed, open_, seal

from lfr_watchlists.domain.entry import SealedRef


class DataKeys(Protocol):
    async def data_key(self, deployment_id: str, data_class: str) -> bytes: ...


class SealedBlobVault:
    def __init__(self, blobs: BlobStore, keys: DataKeys) -> None:
        self._blobs = blobs
        self._keys = keys

    async def _put(self, deployment_id: str, plaintext: bytes) -> tuple[str, bytes]:
        blob_id = new_blob_id()
        key = blob_key(DataClass.WATCHLIST_MEDIA, deployment_id, blob_id)
        data_key = await self._keys.data_key(deployment_id, DataClass.WATCHLIST_MEDIA.value)
        sealed = seal(data_key, plaintext, key.encode())
        await self._blobs.put(key, sealed)
        return blob_id, sealed

    async def _get(self, deployment_id: str, blob_id: str, sha256: str | None = None) -> bytes:
        key = blob_key(DataClass.WATCHLIST_MEDIA, deployment_id, blob_id)
        sealed = await self._blobs.get(key)
        if sha256 is not None and hashlib.sha256(sealed).hexdigest() != sha256:
            raise DecryptionFailed(f"blob {blob_id} is not the one its event recorded (SHA-256 differs)")
        data_key = await self._keys.data_key(deployment_id, DataClass.WATCHLIST_MEDIA.value)
        return open_(data_key, sealed, key.encode())

    async def put_image(self, deployment_id: str, content: bytes) -> str:
        return (await self._put(deployment_id, content))[0]

    async def put_template(self, deployment_id: str, template: Sequence[float]) -> str:
        return (await self._put(deployment_id, np.asarray(template, dtype="<f4").tobytes()))[0]

    async def seal_details(self, deployment_id: str, plaintext: bytes) -> SealedRef:
        blob_id, sealed = await self._put(deployment_id, plaintext)
        return SealedRef(blob_id=blob_id, sha256=hashlib.sha256(sealed).hexdigest())

    async def open_details(self, deployment_id: str, ref: SealedRef) -> bytes:
        return await self._get(deployment_id, ref.blob_id, ref.sha256)

    async def image(self, deployment_id: str, blob_id: str) -> bytes:
        return await self._get(deployment_id, blob_id)

    async def template(self, deployment_id: str, blob_id: str) -> list[float]:
        raw = await self._get(deployment_id, blob_id)
        return [float(x) for x in np.frombuffer(raw, dtype="<f4")]
