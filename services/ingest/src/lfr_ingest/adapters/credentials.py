"""Source URLs (which may hold camera credentials) sealed at rest under a key derived from the master key.

The sealed form is what camera events store; only the decoder thread ever sees the plain URL."""

from __future__ import annotations

import base64

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from lfr_platform.crypto import open_, seal

_INFO = b"lfr-ingest:camera-source-url:v1"


class SourceUrlVault:
    def __init__(self, master_key: bytes) -> None:
        self._key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(master_key)

    @staticmethod
    def _aad(camera_id: str) -> bytes:
        return f"lfr-camera-url:v1:{camera_id}".encode()

    def seal(self, camera_id: str, url: str) -> str:
        return base64.b64encode(seal(self._key, url.encode(), self._aad(camera_id))).decode()

    def open(self, camera_id: str, sealed: str) -> str:
        return open_(self._key, base64.b64decode(sealed), self._aad(camera_id)).decode()
