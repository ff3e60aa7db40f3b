from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from aiokafka import TopicPartition
from lfr_platform.eventstore import EventMetadata, StoredEvent
from lfr_platform.messaging import EventMessage, dead_letter_topic, topic_name
from lfr_platform.messaging.relay import _AckLedger
from lfr_platform.messaging.rotation import RotatingTopic
from pydantic import ValidationError


def _stored(**overrides: object) -> StoredEvent:
    fields: dict[str, object] = dict(
        position=7,
        stream_id="dep-1",
        stream_type="deployment",
        version=3,
        event_id=uuid4(),
        event_type="DeploymentHalted",
        schema_version=2,
        data={"reason": "incident"},
        metadata=EventMetadata(actor="u1", role="silver_commander", traceparent="00-abc-def-01"),
        occurred_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        recorded_at=datetime(2026, 1, 2, 3, 4, 6),  # naive, as SQLite hands it back
    )
    fields.update(overrides)
    return StoredEvent(**fields)  # type: ignore[arg-type]


def test_event_message_round_trips_with_envelope_and_headers() -> None:
    stored = _stored()
    message = EventMessage.from_stored(stored, "deployments")
    again = EventMessage.from_bytes(message.to_bytes())
    assert again == message
    assert again.event_id == stored.event_id and again.position == 7 and again.version == 3
    assert again.recorded_at.tzinfo is not None
    assert again.event_metadata.role == "silver_commander"
    assert dict(again.headers()) == {
        "event_type": b"DeploymentHalted",
        "schema_version": b"2",
        "source": b"deployments",
    }


@pytest.mark.parametrize("raw", [None, b"", b"not json", b'{"event_id": "x"}', b"[]"])
def test_malformed_values_are_refused(raw: bytes | None) -> None:
    with pytest.raises((ValidationError, ValueError)):
        EventMessage.from_bytes(raw)


def test_unknown_envelope_fields_and_versions_are_refused() -> None:
    body = EventMessage.from_stored(_stored(), "x").model_dump(mode="json")
    with pytest.raises(ValidationError):
        EventMessage.model_validate({**body, "envelope_version": 2})
    with pytest.raises(ValidationError):
        EventMessage.model_validate({**body, "frame": "..."})


def test_topic_names() -> None:
    assert topic_name("deployments", "events") == "lfr.deployments.events.v1"
    assert topic_name("ingest", "frames", 2, prefix="t1.") == "t1.lfr.ingest.frames.v2"
    assert dead_letter_topic("alerts-inference") == "lfr.dlq.alerts-inference.v1"
    for bad in ("Deployments", "a.b", "", "1x"):
        with pytest.raises(ValueError):
            topic_name(bad, "events")
    with pytest.raises(ValueError):
        topic_name("a", "b", 0)


def test_ack_ledger_finds_where_a_loss_starts() -> None:
    ledger = _AckLedger()
    tp = TopicPartition("t", 0)
    for offset, outbox_id in [(0, 10), (1, 12), (2, 15), (3, 16)]:
        assert ledger.record(tp, offset, outbox_id)
    assert ledger.highest(tp) == 3
    assert ledger.lost_since(tp, 2) == 14  # offsets 2.. lost: republish after outbox id 14
    assert ledger.lost_since(tp, 0) == 9
    assert ledger.record(tp, 1, 17) is False  # offsets went backwards: the log restarted


def test_ack_ledger_remembers_where_the_latest_round_started_per_partition() -> None:
    ledger = _AckLedger()
    p0, p1 = TopicPartition("t", 0), TopicPartition("t", 1)
    ledger.begin_round()
    for offset in range(3):
        ledger.record(p0, offset, offset + 1)
    ledger.record(p1, 0, 4)
    ledger.begin_round()
    ledger.record(p0, 3, 5)
    ledger.record(p0, 4, 6)
    # tansu reports the end as (base of last batch + 1) >= 4 when nothing was lost: not a loss.
    assert ledger.round_start(p0) == 3
    assert ledger.round_start(p1) == 0  # untouched by the latest round


def test_rotation_slots() -> None:
    rotation = RotatingTopic("lfr.ingest.frames.v1", slots=3, slot_seconds=20, partitions=2)
    assert rotation.current(0) == "lfr.ingest.frames.v1.s0"
    assert rotation.current(59.9) == "lfr.ingest.frames.v1.s2"
    assert rotation.current(60) == "lfr.ingest.frames.v1.s0"
    assert rotation.next_to_recycle(45) == "lfr.ingest.frames.v1.s0"  # written last in [0, 20)
    assert len(rotation.topic_partitions()) == 6
    assert rotation.spec("x").configs == {"retention.ms": "60000"}
    with pytest.raises(ValueError):
        RotatingTopic("x", slots=2)
