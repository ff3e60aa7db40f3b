"""Blob storage for biometric ciphertext: keys `<data-class>/<deployment-id>/<blob-id>`.

Blobs are always ciphertext: callers seal with `lfr_platform.crypto` (binding the blob key as associated
data) before `put`, so a store never holds a readable face and crypto-shredding a deployment's key makes
all of its blobs unreadable even before they are deleted.

Services get their store from `open_blob_store(settings)` (`LFR_BLOBS__*`): a `FileBlobStore` for a
directory (embedded mode: every service of one `lfr up` shares `<data_dir>/blobs`), an `S3BlobStore`
(`lfr_platform.blobs.s3`) for an `s3://` bucket that pods on different nodes share.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from lfr_platform.crypto import DataClass
from lfr_platform.errors import InvalidInput, LfrError, NotFound
from lfr_platform.files import replace_file

if TYPE_CHECKING:
    from lfr_platform.settings import ServiceSettings

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_DATA_CLASSES = {member.value for member in DataClass}


class BlobNotFound(NotFound):
    code = "blob_not_found"


class BlobStoreUnavailable(LfrError):
    """The store itself is missing or unreachable (not one blob): an operator's problem, not the caller's."""

    code = "blob_store_unavailable"
    http_status = 503


def blob_key(data_class: DataClass | str, deployment_id: str, blob_id: str) -> str:
    key = f"{DataClass(data_class).value}/{deployment_id}/{blob_id}"
    validate_key(key)
    return key


def new_blob_id() -> str:
    return secrets.token_hex(16)


def validate_key(key: str) -> tuple[str, str, str]:
    """Refuse anything but `<data-class>/<deployment-id>/<blob-id>` with plain segments (no traversal)."""
    parts = key.split("/")
    if len(parts) != 3 or parts[0] not in _DATA_CLASSES:
        raise InvalidInput(f"blob key must be <data-class>/<deployment-id>/<blob-id>, got {key!r}")
    for part in parts[1:]:
        if not _SEGMENT.match(part) or part in {".", ".."} or ".." in part:
            raise InvalidInput(f"blob key segment {part!r} is not allowed")
    return parts[0], parts[1], parts[2]


def validate_prefix(prefix: str) -> list[str]:
    parts = [part for part in prefix.split("/") if part]
    if len(parts) > 3 or (parts and parts[0] not in _DATA_CLASSES):
        raise InvalidInput(f"blob prefix must start with a data class, got {prefix!r}")
    for part in parts[1:]:
        if not _SEGMENT.match(part) or ".." in part:
            raise InvalidInput(f"blob prefix segment {part!r} is not allowed")
    return parts


@dataclass(frozen=True)
class BlobInfo:
    """What an inventory sees of a blob: its key and when it was last written (never its bytes)."""

    key: str
    modified_at: datetime


class BlobStore(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...

    async def get(self, key: str) -> bytes:
        """The stored bytes, or `BlobNotFound`."""
        ...

    async def delete(self, key: str) -> bool:
        """True if something was deleted."""
        ...

    async def exists(self, key: str) -> bool: ...

    def list(self, prefix: str) -> AsyncIterator[str]:
        """Keys under a prefix such as `alert_media/` or `alert_media/<deployment-id>/`, sorted."""
        ...

    def inventory(self, prefix: str) -> AsyncIterator[BlobInfo]:
        """`list` with each blob's last-modified time (UTC): what `lfr retention scan` judges age by."""
        ...


def open_blob_store(settings: ServiceSettings) -> BlobStore:
    """The store `LFR_BLOBS__URL` names; builds a client but does no I/O (bootstraps call this)."""
    location = settings.blobs.s3_location
    if location is None:
        directory = settings.blob_dir
        assert directory is not None  # a non-s3 URL always names a directory
        return FileBlobStore(directory)
    from lfr_platform.blobs.s3 import S3BlobStore  # the S3 client loads only where it is used

    return S3BlobStore.from_settings(settings.blobs)


class FileBlobStore:
    """Blobs as files under `root` (0700 directories, 0600 files), written atomically (temp + rename)."""

    def __init__(self, root: Path) -> None:
        self._root = root.resolve()

    def _path(self, key: str) -> Path:
        path = self._root.joinpath(*validate_key(key))
        if self._root not in path.resolve().parents:  # belt and braces against symlinked segments
            raise InvalidInput(f"blob key {key!r} escapes the store")
        return path

    async def put(self, key: str, data: bytes) -> None:
        # readers see the old blob or the new one, never half of one
        await asyncio.to_thread(replace_file, self._path(key), bytes(data))

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            raise BlobNotFound(f"no blob {key!r}") from None

    async def delete(self, key: str) -> bool:
        path = self._path(key)
        try:
            await asyncio.to_thread(path.unlink)
        except FileNotFoundError:
            return False
        return True

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)

    async def list(self, prefix: str) -> AsyncIterator[str]:
        async for info in self.inventory(prefix):
            yield info.key

    async def inventory(self, prefix: str) -> AsyncIterator[BlobInfo]:
        directories, start = listing_scope(prefix)
        for info in await asyncio.to_thread(_inventory, self._root, directories, start):
            yield info


def listing_scope(prefix: str) -> tuple[list[str], str]:
    """(the complete segments to list under, the text every listed key starts with) for a list prefix.

    A trailing partial segment (`alert_media/dep`) only filters; complete segments pick where to look.
    """
    parts = validate_prefix(prefix)
    complete = parts if prefix.endswith("/") else parts[:-1]
    return complete[:2], prefix.lstrip("/")


def is_listed(key: str, start: str) -> bool:
    """A listed name is a well-formed blob key under the prefix (temp files and strangers are not)."""
    try:
        validate_key(key)
    except InvalidInput:
        return False
    return key.startswith(start)


def _inventory(root: Path, directories: list[str], start: str) -> list[BlobInfo]:
    base = root.joinpath(*directories)
    if not base.is_dir():
        return []
    found = []
    for path in base.rglob("*"):
        key = path.relative_to(root).as_posix()
        if not is_listed(key, start):
            continue
        try:
            status = path.stat()  # one stat: whether it is a file, and when it was written
        except FileNotFoundError:  # deleted while we walked: not there any more
            continue
        if stat.S_ISREG(status.st_mode):
            found.append(BlobInfo(key, datetime.fromtimestamp(status.st_mtime, UTC)))
    return sorted(found, key=lambda info: info.key)
