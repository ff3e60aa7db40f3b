"""`lfr retention scan`: look everywhere biometric data could be, and report what is past policy.

* databases: every table of every service database (SQLite files under the data dir, or PostgreSQL
  databases `lfr_<service>`): any value that looks biometric is an artefact (events and read models
  must only reference blobs);
* blob store (the directory or S3 bucket `LFR_BLOBS__URL` names): a blob under `alert_media/`,
  `watchlist_media/` or `frames/` is an artefact when it is still readable (its deployment's data key
  exists and is not destroyed) and past policy;
* Kafka: every message of the event topics, and the frames topic's retention configuration.

The report names locations and labels, never values.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from lfr_platform.blobs import BlobStore, BlobStoreUnavailable, FileBlobStore
from lfr_platform.crypto import data_keys_table
from sqlalchemy import Connection, MetaData, Table, inspect, select
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from lfr_retention.adapters.facts_sql import SqlRetentionFacts
from lfr_retention.domain.decisions import CropFacts, RetentionFacts, held_alerts
from lfr_retention.domain.detect import classify
from lfr_retention.domain.policy import RetentionPolicy

SERVICES = ("deployments", "watchlists", "inference", "ingest", "alerts", "audit", "retention")
EVENT_TOPICS = (
    "lfr.deployments.events.v1",
    "lfr.watchlists.events.v1",
    "lfr.inference.events.v1",
    "lfr.alerts.events.v1",
    "lfr.retention.events.v1",
)
BLOB_CLASSES = ("alert_media", "watchlist_media", "frames")


@dataclass
class ScanReport:
    at: datetime
    artefacts: list[dict[str, Any]] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.artefacts

    def count(self, what: str, n: int = 1) -> None:
        self.checked[what] = self.checked.get(what, 0) + n

    def found(self, kind: str, location: str, label: str, **extra: Any) -> None:
        self.artefacts.append({"kind": kind, "location": location, "label": label, **extra})

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "at": self.at.isoformat(),
            "artefacts": self.artefacts,
            "checked": self.checked,
        }


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Databases --------------------------------------------------------------------------------------------


async def scan_database(engine: AsyncEngine, name: str, report: ScanReport) -> dict[tuple[str, str], bool]:
    """Scan every table; return the data-key liveness found in a `data_keys` table, if any."""
    keys: dict[tuple[str, str], bool] = {}
    async with engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: inspect(sync).get_table_names())
        report.count("databases")
        for table_name in tables:
            table = await conn.run_sync(_reflect, table_name)
            report.count("tables")
            result = await conn.stream(select(table))
            async for row in result.mappings():
                report.count("rows")
                for column, value in row.items():
                    label = classify(value)
                    if label is not None:
                        report.found("database_value", f"{name}.{table_name}.{column}", label)
                if table_name == data_keys_table.name:
                    keys[(str(row["deployment_id"]), str(row["data_class"]))] = row["wrapped"] is not None
    return keys


def _reflect(sync: Connection, name: str) -> Table:
    return Table(name, MetaData(), autoload_with=sync)


def database_urls(data_dir: Path, database_url: str | None) -> dict[str, str]:
    if database_url is None:
        return {p.stem: f"sqlite+aiosqlite:///{p.resolve()}" for p in sorted(data_dir.glob("*.db"))}
    from lfr_platform.eventstore.database import database_url_for

    return {service: database_url_for(service, database_url, data_dir) for service in SERVICES}


# Blobs ------------------------------------------------------------------------------------------------


@dataclass
class BlobContext:
    policy: RetentionPolicy
    at: datetime
    facts: RetentionFacts
    keys: dict[tuple[str, str], bool]
    keys_known: bool  # False when no data_keys table was found: every blob counts as readable

    crops: dict[str, CropFacts] = field(init=False)
    held: set[str] = field(init=False)

    def __post_init__(self) -> None:
        self.crops = {c.blob_key: c for c in self.facts.crops}
        self.held = held_alerts(self.facts.holds, self.at)


def blob_past_policy(
    data_class: str, deployment_id: str, key: str, mtime: datetime, ctx: BlobContext
) -> str | None:
    """Why this (readable) blob is past policy, or None if it may still exist."""
    policy, at = ctx.policy, ctx.at
    deployment = ctx.facts.deployments.get(deployment_id)
    ended = deployment.ended_at if deployment else None
    if data_class == "frames":
        return "frames are never stored outside the frames topic"
    if data_class == "watchlist_media":
        if ended is not None and ended + policy.watchlist_media.grace <= at:
            return f"deployment ended {ended.isoformat()}; watchlist media due at end + grace"
        return None
    retention = policy.alert_media.retention
    crop = ctx.crops.get(key)
    if crop is not None:
        if crop.alert_id is not None and crop.alert_id in ctx.held:
            return None
        return (
            f"alert crop older than {policy.alert_media.retention_days} days"
            if crop.created_at + retention <= at
            else None
        )
    if ended is not None:
        return "untracked crop of a deployment past alert retention" if ended + retention <= at else None
    return "untracked crop older than alert retention" if mtime + retention <= at else None


async def scan_blobs(store: BlobStore, ctx: BlobContext, report: ScanReport) -> None:
    for data_class in BLOB_CLASSES:
        async for info in store.inventory(f"{data_class}/"):
            report.count("blobs")
            _, deployment_id, _ = info.key.split("/")
            readable = ctx.keys.get((deployment_id, data_class), False) if ctx.keys_known else True
            if not readable:
                report.count("blobs_unreadable")
                continue
            reason = blob_past_policy(data_class, deployment_id, info.key, info.modified_at, ctx)
            if reason is not None:
                report.found("blob", info.key, f"readable_{data_class}", data_class=data_class,
                             deployment_id=deployment_id, reason=reason)  # fmt: skip


# Kafka ------------------------------------------------------------------------------------------------


async def scan_kafka(
    bootstrap: str,
    policy: RetentionPolicy,
    report: ScanReport,
    *,
    topic_prefix: str = "",
    timeout_s: float = 30.0,
) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        topics = set(await admin.list_topics())
        frames_topic = topic_prefix + policy.frames.topic
        frames = sorted(t for t in topics if t == frames_topic or t.startswith(frames_topic + "."))
        if frames:
            responses = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, t) for t in frames]
            )
            for response in responses:
                for _code, _msg, _type, name, entries, *_ in response.resources:
                    configs = {entry[0]: entry[1] for entry in entries}
                    report.count("frames_topics")
                    retention_ms = int(configs.get("retention.ms") or -1)
                    if retention_ms < 0 or retention_ms > policy.frames.max_retention_seconds * 1000:
                        report.found(
                            "topic_config", name, "frames_retention_too_long", retention_ms=retention_ms
                        )
    finally:
        await admin.close()

    present = [topic_prefix + t for t in EVENT_TOPICS if topic_prefix + t in topics]
    if not present:
        return
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    try:
        partitions = [
            TopicPartition(t, p) for t in present for p in sorted(consumer.partitions_for_topic(t) or {0})
        ]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        remaining = {tp for tp, end in ends.items() if end > 0}
        report.count("topics", len(present))
        deadline = datetime.now(UTC) + timedelta(seconds=timeout_s)
        while remaining and datetime.now(UTC) < deadline:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, records in batch.items():
                for record in records:
                    report.count("messages")
                    label = classify(record.value)
                    if label is not None:
                        report.found("kafka_message", f"{tp.topic}[{tp.partition}]@{record.offset}", label)
                    if record.offset + 1 >= ends[tp]:
                        remaining.discard(tp)
        if remaining:
            report.found("scan_incomplete", ",".join(sorted({tp.topic for tp in remaining})), "kafka_timeout")
    finally:
        await consumer.stop()


# The whole scan ---------------------------------------------------------------------------------------


async def run_scan(
    *,
    data_dir: Path,
    policy: RetentionPolicy,
    at: datetime,
    database_url: str | None = None,
    blobs: BlobStore | None = None,
    kafka_bootstrap: str | None = None,
    topic_prefix: str = "",
) -> ScanReport:
    report = ScanReport(at=at)
    keys: dict[tuple[str, str], bool] = {}
    keys_known = False
    facts = RetentionFacts()
    for name, url in database_urls(data_dir, database_url).items():
        engine = create_async_engine(url)
        try:
            found = await scan_database(engine, name, report)
            if found or await _has_table(engine, data_keys_table.name):
                keys.update(found)
                keys_known = True
            if name == "retention" and await _has_table(engine, "retention_crops"):
                facts = await SqlRetentionFacts(engine).load()
        except Exception as error:  # an unreachable database is reported, never silently skipped
            report.found("scan_incomplete", name, "database_unreachable", error=type(error).__name__)
        finally:
            await engine.dispose()
    store = blobs or FileBlobStore(data_dir / "blobs")
    try:
        await scan_blobs(store, BlobContext(policy, at, facts, keys, keys_known), report)
    except BlobStoreUnavailable as error:  # an unreachable bucket is reported, never silently skipped
        report.found("scan_incomplete", "blobs", "blob_store_unreachable", error=error.message)
    if kafka_bootstrap:
        await scan_kafka(kafka_bootstrap, policy, report, topic_prefix=topic_prefix)
    return report


async def _has_table(engine: AsyncEngine, name: str) -> bool:
    async with engine.connect() as conn:
        return bool(await conn.run_sync(lambda sync: inspect(sync).has_table(name)))


def render(report: ScanReport) -> str:
    lines = [
        f"{'OK' if report.ok else 'PAST POLICY'}: {len(report.artefacts)} biometric artefact(s) "
        f"at {report.at.isoformat()}",
        "checked: " + ", ".join(f"{k}={v}" for k, v in sorted(report.checked.items())),
    ]
    for artefact in report.artefacts:
        extra = {k: v for k, v in artefact.items() if k not in ("kind", "location", "label")}
        lines.append(f"  {artefact['kind']:<16} {artefact['label']:<28} {artefact['location']}"
                     + (f"  {json.dumps(extra, sort_keys=True)}" if extra else ""))  # fmt: skip
    return "\n".join(lines)
