"""Master-key rotation as the deployments service runs it (its bootstrap, real SQLite and PostgreSQL):
data keys survive, destroyed keys stay destroyed, and `MasterKeyRotated` (ids and counts, never key
material) lands on the event stream the audit ledger follows. Then `lfr keys rotate --json` and
`python -m lfr_deployments rotate-master-key`, run as real processes against a data directory (in the
embedded default the CLI also has ingest re-seal camera credentials before the old key is deleted)."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lfr_audit.domain.biometric_guard import find_biometric_content
from lfr_deployments.bootstrap import DeploymentsComponents, build_components, rotate_master_key
from lfr_deployments.domain.master_key import STREAM_ID
from lfr_ingest.adapters.credentials import SourceUrlVault
from lfr_ingest.app.commands import RegisterCamera
from lfr_ingest.app.handlers import IngestApp, Limits
from lfr_ingest.settings import IngestSettings
from lfr_platform.crypto import KeyDestroyed, master_key_id
from lfr_platform.eventstore.sql import SqlEventDatabase
from lfr_platform.service import service_database_url
from lfr_platform.settings import DEV_MASTER_KEY_FILE, DEV_PREVIOUS_MASTER_KEYS_FILE

from tests.integration.deployments._harness import rest_world, settings_for
from tests.unit.deployments.conftest import DEPLOYMENT

OLD = base64.b64encode(bytes(range(32))).decode()
NEW = base64.b64encode(bytes(range(50, 82))).decode()
ROOT = Path(__file__).resolve().parents[3]


async def arrange_keys(data_dir: Path, **settings: Any) -> dict[str, bytes]:
    """A drafted deployment with all three data keys, the alert_media one crypto-shredded."""
    keys = {}
    async with rest_world(data_dir, **settings) as world:
        await world.drafted()
        for data_class in ("frames", "alert_media", "watchlist_media"):
            keys[data_class] = (await world.parts.keys.get(DEPLOYMENT, data_class))[1]
        await world.parts.keys.destroy(
            DEPLOYMENT, "alert_media", actor="ret", role="system", reason="retention ended"
        )
    return keys


async def assert_keys_intact(parts: DeploymentsComponents, keys: dict[str, bytes]) -> None:
    for data_class in ("frames", "watchlist_media"):
        assert (await parts.keys.get(DEPLOYMENT, data_class))[1] == keys[data_class]
    with pytest.raises(KeyDestroyed):
        await parts.keys.get(DEPLOYMENT, "alert_media")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "sqlite":
        return {}
    new_database: Callable[[], str] = request.getfixturevalue("new_postgres_database")
    return {"database_url": new_database()}


async def test_rotation_rewraps_records_the_event_and_is_idempotent(
    tmp_path: Path, database: dict[str, str]
) -> None:
    keys = await arrange_keys(tmp_path, master_key=OLD, **database)
    rotating = settings_for(tmp_path, master_key=NEW, previous_master_keys=OLD, **database)

    report = await rotate_master_key(rotating, actor="it-admin", reason="annual rotation")
    assert (report.rewrapped, report.already_current, report.destroyed_skipped, report.failed) == (2, 0, 1, 0)
    again = await rotate_master_key(rotating, actor="it-admin", reason="check")
    assert (again.rewrapped, again.already_current, again.destroyed_skipped, again.failed) == (0, 2, 1, 0)

    parts = build_components(settings_for(tmp_path, master_key=NEW, **database))  # previous key removed
    await parts.start()
    try:
        await assert_keys_intact(parts, keys)
        events = await parts.kit.db.reader().read_stream(STREAM_ID)
        outbox = await parts.database.outbox.pending(100)
    finally:
        await parts.kit.db.dispose()
    assert [(e.event_type, e.stream_type, e.metadata.actor, e.metadata.role) for e in events] == [
        ("MasterKeyRotated", "master_key", "it-admin", "admin")
    ] * 2
    assert dict(events[0].data) == {
        "current_key_id": master_key_id(base64.b64decode(NEW)),
        "previous_key_ids": [master_key_id(base64.b64decode(OLD))],
        "rewrapped": 2, "already_current": 0, "destroyed_skipped": 1, "failed": 0, "failures": [],
        "reason": "annual rotation",
    }  # fmt: skip
    assert find_biometric_content(dict(events[0].data)) is None  # the audit ledger records it as it is
    pending = {(row.event.event_id, row.topic, row.key) for row in outbox}  # for the relay, to Kafka
    assert {(e.event_id, rotating.deployments_topic, STREAM_ID) for e in events} <= pending


async def test_a_wrong_previous_key_fails_loudly_and_loses_nothing(
    tmp_path: Path, database: dict[str, str]
) -> None:
    keys = await arrange_keys(tmp_path, master_key=OLD, **database)
    wrong = base64.b64encode(bytes(range(100, 132))).decode()
    report = await rotate_master_key(
        settings_for(tmp_path, master_key=NEW, previous_master_keys=wrong, **database), actor="it-admin"
    )
    assert (report.rewrapped, report.failed, report.ok) == (0, 2, False)
    assert {(f.deployment_id, f.data_class) for f in report.failures} == {
        (DEPLOYMENT, "frames"), (DEPLOYMENT, "watchlist_media")
    }  # fmt: skip
    parts = build_components(settings_for(tmp_path, master_key=OLD, **database))
    await parts.start()
    try:
        await assert_keys_intact(parts, keys)  # the old key still opens everything
        [event] = await parts.kit.db.reader().read_stream(STREAM_ID)
    finally:
        await parts.kit.db.dispose()
    assert event.data["failed"] == 2 and len(event.data["failures"]) == 2


def run(argv: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LFR_")}
    return subprocess.run(
        [sys.executable, *argv], cwd=ROOT, env={**clean, "LFR_DATA_DIR": str(data_dir), **env},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


async def ingest_app(data_dir: Path, master_key: bytes) -> tuple[IngestApp, SqlEventDatabase]:
    """Ingest's own store in the data dir, opened with exactly one master key (none previous)."""
    db = SqlEventDatabase(service_database_url(IngestSettings.load(data_dir=data_dir)))
    await db.migrate()
    app = IngestApp(db, SourceUrlVault(master_key), Limits(str(data_dir / "media")))
    await app.start()
    return app, db


async def test_lfr_keys_rotate_rotates_the_embedded_key_file(tmp_path: Path) -> None:
    keys = await arrange_keys(tmp_path)  # development: the master key is <data_dir>/master.key
    key_file = tmp_path / DEV_MASTER_KEY_FILE
    old_key = base64.b64decode(key_file.read_text())
    old_id = master_key_id(old_key)
    camera_url = "rtsp://viewer:s3cret@10.0.0.1/stream"
    ingest, ingest_db = await ingest_app(tmp_path, old_key)
    try:
        await ingest.register(
            RegisterCamera(camera_id="cam-1", name="Gate", source_url=camera_url, actor="it", role="admin")
        )
    finally:
        await ingest_db.dispose()
    lfr = [
        "-m",
        "lfr_cli.main",
        "keys",
        "rotate",
        "--data-dir",
        str(tmp_path),
        "--actor",
        "it-admin",
        "--json",
    ]

    result = run(lfr, tmp_path)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    new_key = base64.b64decode(key_file.read_text())
    new_id = master_key_id(new_key)
    assert new_id != old_id
    assert summary == {
        "ok": True, "current_key_id": new_id, "previous_key_ids": [old_id], "rewrapped": 2,
        "already_current": 0, "destroyed_skipped": 1, "failed": 0, "failures": [], "key_source": "data_dir",
        "cameras_resealed": 1,
    }  # fmt: skip
    ingest, ingest_db = await ingest_app(tmp_path, new_key)  # the camera's credentials moved keys too
    try:
        settings = ingest.registry.cameras["cam-1"].settings
        assert settings is not None
        assert ingest.vault.open("cam-1", settings.source_url_sealed) == camera_url
    finally:
        await ingest_db.dispose()
    assert not (tmp_path / DEV_PREVIOUS_MASTER_KEYS_FILE).exists()  # the old key is gone for good
    assert key_file.stat().st_mode & 0o077 == 0

    parts = build_components(settings_for(tmp_path))  # what `lfr up` builds next time
    await parts.start()
    try:
        await assert_keys_intact(parts, keys)
    finally:
        await parts.kit.db.dispose()

    job = run(["-m", "lfr_deployments", "rotate-master-key", "--actor", "it-admin"], tmp_path)
    assert job.returncode == 0, job.stderr
    assert json.loads(job.stdout)["already_current"] == 2  # the Job's entrypoint, same summary keys

    refused = run(lfr, tmp_path, LFR_PREVIOUS_MASTER_KEYS=f"{NEW},{NEW[:20]}")
    assert refused.returncode == 2 and refused.stdout == ""
    assert "LFR_PREVIOUS_MASTER_KEYS: key 2 of 2:" in refused.stderr and NEW not in refused.stderr
