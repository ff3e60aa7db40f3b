"""Opens an alert's live crop: the sealed blob from the blob store, decrypted with the deployment's
`alert_media` key. The blob key is the associated data, so a blob copied under another key fails to open."""

from __future__ import annotations

from lfr_platform.blobs import BlobStore, validate_key
from lfr_platform.crypto import DataClass, open_
from lfr_platform.errors import InvalidInput

from lfr_alerts.app.ports import DataKeys, Image


class CropReader:
    def __init__(self, blobs: BlobStore, keys: DataKeys) -> None:
        self._blobs = blobs
        self._keys = keys

    async def crop(self, deployment_id: str, crop_blob_key: str) -> Image:
        data_class, blob_deployment, _ = validate_key(crop_blob_key)
        if data_class != DataClass.ALERT_MEDIA.value or blob_deployment != deployment_id:
            # A FaceMatched naming another deployment's blob must never open it with this key.
            raise InvalidInput(f"crop blob key {crop_blob_key!r} is not this deployment's alert media")
        sealed = await self._blobs.get(crop_blob_key)
        key = await self._keys.data_key(deployment_id, DataClass.ALERT_MEDIA.value)
        return _image(open_(key, sealed, crop_blob_key.encode()))


def _image(content: bytes) -> Image:
    return Image(content, sniff_media_type(content))


def sniff_media_type(content: bytes) -> str:
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return "image/webp"
    return "application/octet-stream"
