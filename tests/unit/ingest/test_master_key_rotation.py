"""Camera source URLs (which may carry credentials) survive a master-key rotation: the previous key still
opens them, the service re-seals them under the current key on start, and a retired key is then not needed."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest
from lfr_ingest.adapters.credentials import SourceUrlVault
from lfr_ingest.app import commands as c
from lfr_ingest.app.handlers import SERVICE_ACTOR, SERVICE_ROLE, IngestApp, Limits
from lfr_platform.clock import ManualClock
from lfr_platform.crypto import DecryptionFailed
from lfr_platform.eventstore import InMemoryEventDatabase

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OLD, NEW = os.urandom(32), os.urandom(32)
URL = "rtsp://viewer:s3cret@10.0.0.1/stream"


def app_with(db: InMemoryEventDatabase, vault: SourceUrlVault) -> IngestApp:
    return IngestApp(db, vault, Limits("/media"), clock=ManualClock(NOW))


async def register(app: IngestApp, camera_id: str) -> None:
    await app.register(
        c.RegisterCamera(camera_id=camera_id, name=camera_id, source_url=URL, actor="admin-1", role="admin")
    )


def test_the_vault_opens_with_previous_keys_and_seals_with_the_current_one() -> None:
    sealed_old = SourceUrlVault(OLD).seal("cam-1", URL)
    rotating = SourceUrlVault(NEW, [OLD])
    assert rotating.open("cam-1", sealed_old) == URL
    assert not rotating.sealed_under_current_key("cam-1", sealed_old)
    assert rotating.sealed_under_current_key("cam-1", rotating.seal("cam-1", URL))
    with pytest.raises(DecryptionFailed, match="no configured master key"):
        SourceUrlVault(NEW).open("cam-1", sealed_old)
    with pytest.raises(DecryptionFailed):  # bound to its camera: not movable to another
        rotating.open("cam-2", sealed_old)


async def test_start_reseals_active_cameras_under_the_current_key_as_the_service() -> None:
    db = InMemoryEventDatabase()
    before = app_with(db, SourceUrlVault(OLD))
    await register(before, "cam-1")
    await register(before, "cam-2")
    await register(before, "cam-gone")
    await before.decommission(
        c.DecommissionCamera(camera_id="cam-gone", reason="removed", actor="admin-1", role="admin")
    )

    after = app_with(db, SourceUrlVault(NEW, [OLD]))
    await after.start()
    assert sorted(await after.reseal_sources()) == ["cam-1", "cam-2"]
    assert await after.reseal_sources() == []  # idempotent

    events = await db.reader().read_all()
    resealed = [e for e in events if e.event_type == "CameraUpdated"]
    assert {e.stream_id for e in resealed} == {"cam-1", "cam-2"}
    assert all((e.metadata.actor, e.metadata.role) == (SERVICE_ACTOR, SERVICE_ROLE) for e in resealed)
    assert all(e.data["changed"] == ["source_url"] for e in resealed)
    assert all(URL not in str(e.data) and "s3cret" not in str(e.data) for e in events)

    retired = app_with(db, SourceUrlVault(NEW))  # the previous key is gone
    await retired.start()
    for camera_id in ("cam-1", "cam-2"):
        camera = retired.registry.cameras[camera_id]
        assert camera.settings is not None
        assert retired.vault.open(camera_id, camera.settings.source_url_sealed) == URL
