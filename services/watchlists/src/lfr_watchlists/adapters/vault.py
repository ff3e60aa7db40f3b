"""The biometric vault: watchlist images and templates sealed (AES-GCM) under the deployment's
`watchlist_media` key and kept in the blob store at `watchlist_media/<deployment>/<blob-id>`.

The blob key is the associated data, so a blob copied elsewhere does not open. Templates are stored as
little-endian float32. Callers see blob ids only; events carry those ids, never the bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np
from lfr_platform.blobs import BlobStore, blob_key, new_blob_id
from lfr_platform.crypto import DataClass, open_, seal


class DataKeys(Protocol):
    async def data_key(self, deployment_id: str, data_class: str) -> bytes: ...


class SealedBlobVault:
    def __init__(self, blobs: BlobStore, keys: DataKeys) -> None:
        self._blobs = blobs
        self._keys = keys

    async def _put(self, deployment_id: str, plaintext: bytes) -> str:
        blob_id = new_blob_id()
        key = blob_key(DataClass.WATCHLIST_MEDIA, deployment_id, blob_id)
        data_key = await self._keys.data_key(deployment_id, DataClass.WATCHLIST_MEDIA.value)
        await self._blobs.put(key, seal(data_key, plaintext, key.encode()))
        return blob_id

    async def _get(self, deployment_id: str, blob_id: str) -> bytes:
        key = blob_key(DataClass.WATCHLIST_MEDIA, deployment_id, blob_id)
        sealed = await self._blobs.get(key)
        data_key = await self._keys.data_key(deployment_id, DataClass.WATCHLIST_MEDIA.value)
        return open_(data_key, sealed, key.encode())

    async def put_image(self, deployment_id: str, content: bytes) -> str:
        return await self._put(deployment_id, content)

    async def put_template(self, deployment_id: str, template: Sequence[float]) -> str:
        return await self._put(deployment_id, np.asarray(template, dtype="<f4").tobytes())

    async def image(self, deployment_id: str, blob_id: str) -> bytes:
        return await self._get(deployment_id, blob_id)

    async def template(self, deployment_id: str, blob_id: str) -> list[float]:
        raw = await self._get(deployment_id, blob_id)
        return np.frombuffer(raw, dtype="<f4").astype(float).tolist()
