"""PostgreSQL: retention's facts tables (dialect upserts) and the scan's table walk on a real server."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lfr_platform.eventstore.model import EventMetadata, NewEvent
from lfr_platform.eventstore.sql import SqlEventDatabase
from lfr_retention.adapters.facts_sql import SqlRetentionFacts
from lfr_retention.adapters.scan import ScanReport, database_urls, scan_database
from sqlalchemy import text

pytestmark = pytest.mark.postgres

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def test_facts_upserts_and_the_scan_on_postgresql(
    new_postgres_database: Callable[[], str], face_images_dir: Path
) -> None:
    jpeg = sorted(face_images_dir.glob("*.jpg"))[0].read_bytes()  # noqa: ASYNC240 (setup)
    db = SqlEventDatabase(new_postgres_database())
    await db.migrate()
    facts = SqlRetentionFacts(db.engine)
    await facts.create_tables()
    try:
        async with db.unit_of_work() as uow:
            conn = uow.connection
            await facts.deployment_started(conn, "dep-1", T0)
            await facts.deployment_ended(conn, "dep-1", T0 + timedelta(hours=8))
            await facts.crop_seen(conn, "alert_media/dep-1/c1", "dep-1", T0 + timedelta(hours=1), None)
            await facts.crop_seen(conn, "alert_media/dep-1/c1", "dep-1", T0 + timedelta(hours=2), "alert-1")
            await facts.watchlist_created(conn, "wl-1", "dep-1")
            await facts.watchlist_blobs_added(conn, "wl-1", ["img-1", "tpl-1", "img-1"])
            await uow.events.append("trk-1", "sighting", 0, [NewEvent(
                event_type="DebugDump", data={"embedding": [0.25] * 512},
                metadata=EventMetadata(actor="someone", role="admin"),
            )])  # fmt: skip
            await conn.execute(text("CREATE TABLE debug_crops (id text, crop bytea)"))
            await conn.execute(text("INSERT INTO debug_crops VALUES ('x', :crop)"), {"crop": jpeg})
            await uow.commit()
        loaded = await facts.load()
        assert loaded.deployments["dep-1"].ended_at == T0 + timedelta(hours=8)
        [crop] = loaded.crops
        assert (crop.created_at, crop.alert_id) == (T0 + timedelta(hours=1), "alert-1")  # earliest time wins
        assert sorted(loaded.watchlist_blobs["dep-1"]) == ["img-1", "tpl-1"]

        report = ScanReport(at=T0)
        await scan_database(db.engine, "alerts", report)
        assert sorted((a["location"], a["label"]) for a in report.artefacts) == [
            ("alerts.debug_crops.crop", "jpeg_bytes"),
            ("alerts.events.data", "float_vector_512"),
        ]
    finally:
        await db.dispose()


def test_a_postgresql_url_means_one_database_per_service(tmp_path: Path) -> None:
    urls = database_urls(tmp_path, "postgresql+asyncpg://lfr:pw@db.example:5432/postgres")
    assert urls["alerts"].endswith("@db.example:5432/lfr_alerts")
    assert set(urls) == {"deployments", "watchlists", "inference", "ingest", "alerts", "audit", "retention"}
