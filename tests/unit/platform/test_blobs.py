import asyncio
import os
import stat
from pathlib import Path

import pytest
from lfr_platform.blobs import BlobNotFound, FileBlobStore, blob_key, new_blob_id
from lfr_platform.crypto import InMemoryWrappedKeyStore, KeyDestroyed, KeyRing
from lfr_platform.errors import InvalidInput


@pytest.fixture
def store(tmp_path: Path) -> FileBlobStore:
    return FileBlobStore(tmp_path / "blobs")


async def collect(store: FileBlobStore, prefix: str) -> list[str]:
    return [key async for key in store.list(prefix)]


async def test_put_get_exists_delete(store: FileBlobStore, tmp_path: Path) -> None:
    key = blob_key("alert_media", "dep-1", new_blob_id())
    await store.put(key, b"ciphertext")
    assert await store.exists(key) and await store.get(key) == b"ciphertext"
    path = tmp_path / "blobs" / key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    await store.put(key, b"replaced")
    assert await store.get(key) == b"replaced"
    assert os.listdir(path.parent) == [path.name]  # no temp files left behind
    assert await store.delete(key) is True and await store.delete(key) is False
    with pytest.raises(BlobNotFound):
        await store.get(key)


async def test_list_by_prefix(store: FileBlobStore) -> None:
    keys = ["alert_media/dep-1/a1", "alert_media/dep-1/a2", "alert_media/dep-2/b1", "frames/dep-1/f1"]
    await asyncio.gather(*(store.put(key, b"x") for key in keys))
    assert await collect(store, "alert_media/dep-1/") == keys[:2]
    assert await collect(store, "alert_media/") == keys[:3]
    assert await collect(store, "alert_media/dep") == keys[:3]
    assert await collect(store, "alert_media/dep-1/a2") == ["alert_media/dep-1/a2"]
    assert await collect(store, "watchlist_media/") == []


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
async def test_traversal_and_malformed_keys_are_refused(store: FileBlobStore, key: str) -> None:
    with pytest.raises(InvalidInput):
        await store.put(key, b"x")
    with pytest.raises(InvalidInput):
        await store.get(key)


async def test_sealed_blob_is_unreadable_after_its_key_is_shredded(store: FileBlobStore) -> None:
    ring = KeyRing(bytes(32), InMemoryWrappedKeyStore())
    await ring.ensure_key("dep-1", "alert_media")
    key = blob_key("alert_media", "dep-1", new_blob_id())
    await store.put(key, await ring.seal("dep-1", "alert_media", b"face crop", key.encode()))
    assert b"face crop" not in await store.get(key)
    assert await ring.open_("dep-1", "alert_media", await store.get(key), key.encode()) == b"face crop"
    await ring.destroy("dep-1", "alert_media")
    with pytest.raises(KeyDestroyed):
        await ring.open_("dep-1", "alert_media", await store.get(key), key.encode())
