"""`S3BlobStore`: the `BlobStore` contract over an S3-compatible bucket (AWS S3, MinIO, Ceph RGW, ...).

Built on obstore (Python bindings of the Rust `object_store` crate): one self-contained wheel with a native
async API, rather than aiobotocore's botocore + aiohttp stack (docs/architecture.md, "Decisions").
Blobs arrive sealed (AES-GCM), so nothing is asked of the server beyond storing bytes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import obstore
from obstore.exceptions import BaseError as ObstoreError
from obstore.store import S3Store

from lfr_platform.blobs import (
    BlobInfo,
    BlobNotFound,
    BlobStoreUnavailable,
    is_listed,
    listing_scope,
    validate_key,
)

if TYPE_CHECKING:
    from obstore.store import ClientConfig, RetryConfig, S3Config

    from lfr_platform.settings import BlobSettings

# A blob is a crop or a watchlist image: small. Give up within seconds rather than object_store's default
# of ten retries over three minutes, so an outage shows as an error while a frame is still current.
_CLIENT: ClientConfig = {"connect_timeout": timedelta(seconds=5), "timeout": timedelta(seconds=30)}
_RETRY: RetryConfig = {"max_retries": 3, "retry_timeout": timedelta(seconds=20)}
# obstore raises builtin OSErrors (FileNotFoundError, PermissionError, ...) where one fits, else its own.
_STORE_ERRORS = (OSError, ObstoreError)
_NO_BUCKET = "NoSuchBucket"  # S3's error code, in the body of any response but a HEAD's


class S3BlobStore:
    """Blobs as objects `<prefix>/<data-class>/<deployment-id>/<blob-id>` in one bucket."""

    def __init__(self, store: S3Store, name: str) -> None:
        self._store = store
        self._name = name  # s3://bucket/prefix, for error messages (never a credential)

    @classmethod
    def from_settings(cls, settings: BlobSettings) -> S3BlobStore:
        location = settings.s3_location
        if location is None:
            raise ValueError("S3BlobStore needs an s3:// LFR_BLOBS__URL")
        bucket, prefix = location
        config: S3Config = {"virtual_hosted_style_request": not settings.path_style}
        client: ClientConfig = _CLIENT.copy()
        if settings.endpoint_url is not None:
            config["endpoint"] = bucket_endpoint(settings.endpoint_url, bucket, settings.path_style)
            # Only an explicitly configured http:// endpoint (an in-cluster MinIO, a test emulator): the
            # blobs are ciphertext and SigV4 never sends the secret key, but the default stays https only.
            client["allow_http"] = settings.endpoint_url.startswith("http://")
        if settings.region is not None:
            config["region"] = settings.region
        if settings.access_key_id is not None and settings.secret_access_key is not None:
            config["access_key_id"] = settings.access_key_id.get_secret_value()
            config["secret_access_key"] = settings.secret_access_key.get_secret_value()
        store = S3Store(
            bucket, prefix=prefix or None, config=config, client_options=client, retry_config=_RETRY
        )
        return cls(store, f"s3://{bucket}/{prefix}".rstrip("/"))

    async def put(self, key: str, data: bytes) -> None:
        validate_key(key)
        try:
            await obstore.put_async(self._store, key, bytes(data))  # one PUT: the object appears whole
        except _STORE_ERRORS as error:  # a PUT cannot miss a key, so even a 404 is the store's fault
            raise self._unavailable(error) from error

    async def get(self, key: str) -> bytes:
        validate_key(key)
        try:
            result = await obstore.get_async(self._store, key)
            return bytes(await result.bytes_async())
        except FileNotFoundError as error:
            if _NO_BUCKET in str(error):
                raise self._unavailable(error) from error
            raise BlobNotFound(f"no blob {key!r}") from None
        except _STORE_ERRORS as error:
            raise self._unavailable(error) from error

    async def delete(self, key: str) -> bool:
        # S3 answers a DELETE the same whether or not the object existed, so ask first. A concurrent
        # delete between the two can make both callers see True; nothing here depends on exactly one.
        if not await self.exists(key):
            return False
        try:
            await obstore.delete_async(self._store, key)
        except _STORE_ERRORS as error:
            raise self._unavailable(error) from error
        return True

    async def exists(self, key: str) -> bool:
        validate_key(key)
        try:
            await obstore.head_async(self._store, key)
        except FileNotFoundError:  # a HEAD's 404 has no body: a missing bucket looks like a missing key
            return False
        except _STORE_ERRORS as error:
            raise self._unavailable(error) from error
        return True

    async def list(self, prefix: str) -> AsyncIterator[str]:
        async for info in self.inventory(prefix):
            yield info.key

    async def inventory(self, prefix: str) -> AsyncIterator[BlobInfo]:
        directories, start = listing_scope(prefix)
        # S3 lists keys in ascending (UTF-8 binary) order, so the stream is already sorted.
        try:
            async for batch in obstore.list(self._store, "/".join(directories) or None, chunk_size=500):
                for meta in batch:
                    if is_listed(meta["path"], start):
                        yield BlobInfo(meta["path"], meta["last_modified"])
        except _STORE_ERRORS as error:  # a LIST cannot miss a key either
            raise self._unavailable(error) from error

    def _unavailable(self, error: Exception) -> BlobStoreUnavailable:
        # The cause stays chained for the log; the message names the store, never a credential.
        reason = "the bucket does not exist" if _NO_BUCKET in str(error) else type(error).__name__
        return BlobStoreUnavailable(f"blob store {self._name} is unavailable: {reason}")


def bucket_endpoint(endpoint_url: str, bucket: str, path_style: bool) -> str:
    """object_store wants the bucket inside a virtual-hosted endpoint; settings name the service's."""
    if path_style:
        return endpoint_url.rstrip("/")
    parts = urlsplit(endpoint_url)
    return urlunsplit(parts._replace(netloc=f"{bucket}.{parts.netloc}")).rstrip("/")
