"""The BlobStore contract, run against every store: the filesystem one (embedded mode) and the S3 one.

The S3 runs talk real HTTP to moto's S3 emulator (tests/fixtures/s3.py): S3 is a cloud service that
cannot run here, so an emulator stands in for it.
"""

import asyncio
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import obstore
import pytest
from lfr_platform.blobs import (
    BlobNotFound,
    BlobStore,
    BlobStoreUnavailable,
    FileBlobStore,
    blob_key,
    new_blob_id,
    open_blob_store,
)
from lfr_platform.blobs.s3 import S3BlobStore, bucket_endpoint
from lfr_platform.crypto import InMemoryWrappedKeyStore, KeyDestroyed, KeyRing
from lfr_platform.errors import InvalidInput
from lfr_platform.settings import ServiceSettings
from obstore.store import S3Store

from tests.fixtures.s3 import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, s3_settings


@pytest.fixture(params=["file", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "file":
        return open_blob_store(ServiceSettings(data_dir=tmp_path))
    endpoint, bucket = request.getfixturevalue("s3_endpoint"), request.getfixturevalue("s3_bucket")
    return open_blob_store(ServiceSettings(data_dir=tmp_path, blobs=s3_settings(endpoint, bucket)))


async def collect(store: BlobStore, prefix: str) -> list[str]:
    return [key async for key in store.list(prefix)]


async def test_put_get_exists_delete(store: BlobStore) -> None:
    key = blob_key("alert_media", "dep-1", new_blob_id())
    assert not await store.exists(key)
    await store.put(key, b"ciphertext")
    assert await store.exists(key) and await store.get(key) == b"ciphertext"
    await store.put(key, b"replaced")
    assert await store.get(key) == b"replaced"
    assert await store.delete(key) is True and await store.delete(key) is False
    assert not await store.exists(key)
    with pytest.raises(BlobNotFound):
        await store.get(key)


async def test_list_by_prefix(store: BlobStore) -> None:
    keys = ["alert_media/dep-1/a1", "alert_media/dep-1/a2", "alert_media/dep-2/b1", "frames/dep-1/f1"]
    await asyncio.gather(*(store.put(key, b"x") for key in keys))
    assert await collect(store, "alert_media/dep-1/") == keys[:2]
    assert await collect(store, "alert_media/") == keys[:3]
    assert await collect(store, "alert_media/dep") == keys[:3]
    assert await collect(store, "alert_media/dep-1") == keys[:2]
    assert await collect(store, "alert_media/dep-1/a2") == ["alert_media/dep-1/a2"]
    assert await collect(store, "watchlist_media/") == []
    assert await collect(store, "") == keys


async def test_inventory_gives_each_blob_its_last_write_time(store: BlobStore) -> None:
    before = datetime.now(UTC) - timedelta(seconds=5)  # clock granularity of file systems and S3
    keys = ["alert_media/dep-1/a1", "alert_media/dep-2/b1", "frames/dep-1/f1"]
    await asyncio.gather(*(store.put(key, b"x") for key in keys))
    inventory = [info async for info in store.inventory("alert_media/")]
    assert [info.key for info in inventory] == keys[:2]
    after = datetime.now(UTC) + timedelta(seconds=5)
    assert all(before <= info.modified_at <= after for info in inventory), inventory
    assert all(info.modified_at.tzinfo is not None for info in inventory)


@pytest.mark.parametrize(
    "key",
    [
        "../etc/passwd",
        "alert_media/../../etc/passwd",
        "alert_media/dep-1/../../x",
        "alert_media/dep-1/..",
        "/alert_media/dep-1/x",
        "alert_media/dep-1/x/y",
        "thumbnails/dep-1/x",
        "alert_media/dep-1/.hidden",
        "alert_media/dep 1/x",
        "alert_media/dep-1/x\x00",
        "alert_media//x",
    ],
)
async def test_traversal_and_malformed_keys_are_refused(store: BlobStore, key: str) -> None:
    with pytest.raises(InvalidInput):
        await store.put(key, b"x")
    with pytest.raises(InvalidInput):
        await store.get(key)
    with pytest.raises(InvalidInput):
        await store.exists(key)
    with pytest.raises(InvalidInput):
        await store.delete(key)


@pytest.mark.parametrize("prefix", ["thumbnails/", "alert_media/../", "alert_media/dep-1/x/y/"])
async def test_malformed_list_prefixes_are_refused(store: BlobStore, prefix: str) -> None:
    with pytest.raises(InvalidInput):
        await collect(store, prefix)


async def test_sealed_blob_is_unreadable_after_its_key_is_shredded(store: BlobStore) -> None:
    ring = KeyRing(bytes(32), InMemoryWrappedKeyStore())
    await ring.ensure_key("dep-1", "alert_media")
    key = blob_key("alert_media", "dep-1", new_blob_id())
    await store.put(key, await ring.seal("dep-1", "alert_media", b"face crop", key.encode()))
    assert b"face crop" not in await store.get(key)
    assert await ring.open_("dep-1", "alert_media", await store.get(key), key.encode()) == b"face crop"
    await ring.destroy("dep-1", "alert_media")
    with pytest.raises(KeyDestroyed):
        await ring.open_("dep-1", "alert_media", await store.get(key), key.encode())


# What only one kind of store has ----------------------------------------------------------------------


async def test_files_are_private_and_written_atomically(tmp_path: Path) -> None:
    store = FileBlobStore(tmp_path / "blobs")
    key = blob_key("alert_media", "dep-1", new_blob_id())
    await store.put(key, b"ciphertext")
    await store.put(key, b"replaced")
    path = tmp_path / "blobs" / key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert os.listdir(path.parent) == [path.name]  # no temp files left behind


async def test_s3_prefix_isolates_stores_and_strangers_are_not_listed(
    s3_endpoint: str, s3_bucket: str
) -> None:
    ours = S3BlobStore.from_settings(s3_settings(s3_endpoint, s3_bucket, "lfr"))
    other = S3BlobStore.from_settings(s3_settings(s3_endpoint, s3_bucket, "other"))
    key = blob_key("alert_media", "dep-1", new_blob_id())
    await ours.put(key, b"ours")
    assert not await other.exists(key) and await collect(other, "alert_media/") == []
    # Objects another tool left under our prefix, outside the key scheme: never listed, never returned.
    raw = S3Store(
        s3_bucket,
        prefix="lfr",
        config={"endpoint": s3_endpoint, "region": REGION, "access_key_id": ACCESS_KEY_ID,
                "secret_access_key": SECRET_ACCESS_KEY},
        client_options={"allow_http": True},
    )  # fmt: skip
    for stranger in ("alert_media/dep-1/.partial", "alert_media/dep-1/x/y", "notes/readme"):
        await obstore.put_async(raw, stranger, b"?")
    assert await collect(ours, "") == [key]
    assert await ours.get(key) == b"ours"


async def test_missing_bucket_is_reported_as_an_unavailable_store(s3_endpoint: str) -> None:
    store = S3BlobStore.from_settings(s3_settings(s3_endpoint, "lfr-no-such-bucket"))
    key = blob_key("alert_media", "dep-1", new_blob_id())
    with pytest.raises(BlobStoreUnavailable, match="lfr-no-such-bucket.*bucket does not exist"):
        await store.put(key, b"x")
    with pytest.raises(BlobStoreUnavailable, match="bucket does not exist"):
        await store.get(key)  # not "no such blob": the operator has to fix the bucket
    with pytest.raises(BlobStoreUnavailable):
        await collect(store, "alert_media/")


def test_virtual_hosted_addressing_puts_the_bucket_in_the_host() -> None:
    assert bucket_endpoint("https://s3.example.net:9000/", "lfr-blobs", False) == (
        "https://lfr-blobs.s3.example.net:9000"
    )
    assert bucket_endpoint("https://s3.example.net:9000/", "lfr-blobs", True) == "https://s3.example.net:9000"
