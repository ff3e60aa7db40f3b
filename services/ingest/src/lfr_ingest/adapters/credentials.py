"""Source URLs (which may hold camera credentials) sealed at rest under a key derived from the master key.

The sealed form is what camera events store; only the decoder thread ever sees the plain URL. During a
master-key rotation the previous master keys still open old ciphertexts, and `IngestApp.reseal_sources`
re-seals every active camera under the current key, so the previous keys can then be retired."""

from __future__ import annotations

import base64
from collections.abc import Sequence

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from lfr_platform.crypto import DecryptionFailed, open_, seal

_INFO = b"lfr-ingest:camera-source-url:v1"


def _derive(master_key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_INFO).derive(master_key)


class SourceUrlVault:
    def __init__(self, master_key: bytes, previous_master_keys: Sequence[bytes] = ()) -> None:
        self._key = _derive(master_key)
        self._previous = [_derive(key) for key in previous_master_keys]

    @staticmethod
    def _aad(camera_id: str) -> bytes:
        return f"lfr-camera-url:v1:{camera_id}".encode()

    def seal(self, camera_id: str, url: str) -> str:
        return base64.b64encode(seal(self._key, url.encode(), self._aad(camera_id))).decode()

    def open(self, camera_id: str, sealed: str) -> str:
        raw = base64.b64decode(sealed)
        for key in (self._key, *self._previous):
            try:
                return open_(key, raw, self._aad(camera_id)).decode()
            except DecryptionFailed:
                continue
        raise DecryptionFailed(
            f"camera {camera_id}'s source URL opens under no configured master key "
            "(was a previous master key retired before its cameras were re-sealed?)"
        )

    def sealed_under_current_key(self, camera_id: str, sealed: str) -> bool:
        try:
            open_(self._key, base64.b64decode(sealed), self._aad(camera_id))
        except DecryptionFailed:
            return False
        return True
