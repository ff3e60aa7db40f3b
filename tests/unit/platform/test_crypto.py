import pytest
from lfr_platform.crypto import (
    OVERHEAD,
    DecryptionFailed,
    InMemoryWrappedKeyStore,
    KeyDestroyed,
    KeyNotFound,
    KeyRing,
    new_key,
    open_,
    seal,
)

KEY = bytes(range(32))


def test_round_trip_and_format() -> None:
    blob = seal(KEY, b"jpeg bytes", b"frames/dep-1/blob-1")
    assert blob[0] == 1 and len(blob) == len(b"jpeg bytes") + OVERHEAD
    assert open_(KEY, blob, b"frames/dep-1/blob-1") == b"jpeg bytes"
    assert seal(KEY, b"same", b"") != seal(KEY, b"same", b"")  # fresh random nonce each time


def test_every_tampered_byte_is_detected() -> None:
    blob = seal(KEY, b"0123456789", b"ctx")
    for index in range(1, len(blob)):
        tampered = bytearray(blob)
        tampered[index] ^= 0x01
        with pytest.raises(DecryptionFailed):
            open_(KEY, bytes(tampered), b"ctx")


def test_wrong_key_context_version_or_length_fails_clearly() -> None:
    blob = seal(KEY, b"x", b"alert_media/d/1")
    with pytest.raises(DecryptionFailed, match="authentication"):
        open_(new_key(), blob, b"alert_media/d/1")
    with pytest.raises(DecryptionFailed, match="authentication"):
        open_(KEY, blob, b"alert_media/d/2")
    with pytest.raises(DecryptionFailed, match="version"):
        open_(KEY, b"\x02" + blob[1:], b"alert_media/d/1")
    with pytest.raises(DecryptionFailed, match="too short"):
        open_(KEY, blob[:10], b"alert_media/d/1")
    with pytest.raises(ValueError, match="32 bytes"):
        seal(b"short", b"x")


async def test_key_ring_separates_deployments_and_classes_and_shreds() -> None:
    ring = KeyRing(KEY, InMemoryWrappedKeyStore())
    for deployment in ("dep-1", "dep-2"):
        for data_class in ("frames", "alert_media"):
            await ring.ensure_key(deployment, data_class)
    await ring.ensure_key("dep-1", "frames")  # idempotent: same key kept
    assert await ring.data_key("dep-1", "frames") != await ring.data_key("dep-2", "frames")
    assert await ring.data_key("dep-1", "frames") != await ring.data_key("dep-1", "alert_media")

    blob = await ring.seal("dep-1", "alert_media", b"crop", b"alert_media/dep-1/a1")
    assert await ring.open_("dep-1", "alert_media", blob, b"alert_media/dep-1/a1") == b"crop"
    with pytest.raises(DecryptionFailed):
        await ring.open_("dep-2", "alert_media", blob, b"alert_media/dep-1/a1")

    assert await ring.destroy("dep-1", "alert_media") is True
    assert await ring.destroy("dep-1", "alert_media") is False
    with pytest.raises(KeyDestroyed, match="cannot be recovered"):
        await ring.open_("dep-1", "alert_media", blob, b"alert_media/dep-1/a1")
    with pytest.raises(KeyDestroyed):
        await ring.ensure_key("dep-1", "alert_media")  # a shredded key is never silently recreated
    assert await ring.data_key("dep-1", "frames")  # other classes untouched


async def test_a_different_master_key_cannot_unwrap() -> None:
    store = InMemoryWrappedKeyStore()
    await KeyRing(KEY, store).ensure_key("dep-1", "frames")
    with pytest.raises(DecryptionFailed):
        await KeyRing(new_key(), store).data_key("dep-1", "frames")


async def test_missing_key_and_unknown_class() -> None:
    ring = KeyRing(KEY, InMemoryWrappedKeyStore())
    with pytest.raises(KeyNotFound):
        await ring.data_key("dep-9", "frames")
    with pytest.raises(ValueError):
        await ring.ensure_key("dep-9", "thumbnails")
