"""Canonical entry bytes and signed tree heads."""

from __future__ import annotations

import base64
import math
from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from lfr_audit.domain.canonical import LedgerEntry, canonical_json, format_time, parse_time
from lfr_audit.domain.chain import GENESIS_HASH
from lfr_audit.domain.export import decode_tree_heads, encode_tree_heads
from lfr_audit.domain.merkle import EMPTY_ROOT
from lfr_audit.domain.tree_head import (
    SignedTreeHead,
    TreeHeadSigner,
    load_private_key,
    load_public_key,
    verify_tree_head,
)
from lfr_platform.eventstore.model import EventMetadata, StoredEvent

AT = datetime(2026, 11, 22, 12, 30, 38, 5, tzinfo=UTC)


def stored_event(**overrides: object) -> StoredEvent:
    fields: dict[str, object] = {
        "position": 12,
        "stream_id": "dep-7",
        "stream_type": "Deployment",
        "version": 3,
        "event_id": UUID(int=42),
        "event_type": "DeploymentHalted",
        "schema_version": 1,
        "data": {"reason": "crowd surge", "halted_by": "silver-1"},
        "metadata": EventMetadata(actor="silver-1", role="silver_commander", correlation_id="c-1"),
        "occurred_at": AT,
        "recorded_at": AT + timedelta(milliseconds=2),
    }
    fields.update(overrides)
    return StoredEvent(**fields)  # type: ignore[arg-type]


def test_canonical_json_is_sorted_compact_utf8_and_refuses_nan() -> None:
    assert canonical_json({"b": [1, 2.5, None, True], "a": 'é\n"x"'}) == (
        '{"a":"é\\n\\"x\\"","b":[1,2.5,null,true]}'.encode()
    )
    with pytest.raises(ValueError):
        canonical_json({"score": math.nan})


def test_times_are_utc_with_microseconds_and_naive_times_are_refused() -> None:
    plus_two = AT.astimezone(timezone(timedelta(hours=2)))
    assert format_time(plus_two) == "2026-11-22T12:30:38.000005Z"
    assert parse_time(format_time(AT)) == AT
    with pytest.raises(ValueError):
        format_time(datetime(2026, 1, 1))


def test_an_entry_from_a_stored_event_keeps_the_whole_envelope() -> None:
    entry = LedgerEntry.from_stored_event("deployments", stored_event())
    payload = entry.as_payload()
    assert payload["source_position"] == 12 and payload["event_id"] == str(UUID(int=42))
    assert payload["metadata"]["role"] == "silver_commander"
    assert payload["recorded_at"] == "2026-11-22T12:30:38.002005Z"
    assert LedgerEntry.from_payload(payload) == entry
    assert (entry.actor, entry.role, entry.deployment_id) == ("silver-1", "silver_commander", "dep-7")
    alert = LedgerEntry.from_stored_event(
        "alerts", stored_event(stream_type="Alert", stream_id="alert-1", data={"deployment_id": "dep-9"})
    )
    assert alert.deployment_id == "dep-9"
    camera = LedgerEntry.from_stored_event("ingest", stored_event(stream_type="Camera", data={}))
    assert camera.deployment_id is None
    with pytest.raises(ValueError):
        LedgerEntry.from_payload({**payload, "version": "3"})
    with pytest.raises(ValueError):
        LedgerEntry.from_payload({**payload, "extra": 1})


def test_tree_heads_sign_verify_and_round_trip() -> None:
    signer = TreeHeadSigner.from_setting(base64.b64encode(bytes(range(32))).decode())
    head = signer.sign(0, EMPTY_ROOT, GENESIS_HASH, AT)
    assert verify_tree_head(head, signer.public_key)
    assert decode_tree_heads(encode_tree_heads([head])) == [head]
    assert decode_tree_heads(encode_tree_heads([head])[:-1].decode().split('"tree_heads": ')[1][:-2]) == [
        head
    ]
    for field, value in (
        ("tree_size", 1),
        ("timestamp", "2026-11-22T12:30:39.000000Z"),
        ("root_hash", b"\x00" * 32),
    ):
        forged = SignedTreeHead(**{**head.__dict__, field: value})
        assert not verify_tree_head(forged, signer.public_key)
    other = Ed25519PrivateKey.generate().public_key()
    assert not verify_tree_head(head, other)


def test_keys_load_from_pem_hex_or_base64() -> None:
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    raw_public = private.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    signer = TreeHeadSigner(load_private_key(pem))
    for text in (signer.public_key_pem(), raw_public.hex(), base64.b64encode(raw_public).decode()):
        assert verify_tree_head(signer.sign(0, EMPTY_ROOT, GENESIS_HASH, AT), load_public_key(text))
    with pytest.raises(ValueError):
        load_public_key("not a key")
    with pytest.raises(ValueError):
        load_private_key("00" * 31)


def test_kafka_and_backfill_paths_give_the_same_canonical_bytes() -> None:
    """The consumer sees an EventMessage off the wire, backfill sees a StoredEvent: same bytes."""
    from lfr_platform.messaging.wire import EventMessage

    event = stored_event(data={"deployment_id": "dep-7", "score": 0.6123, "nested": {"b": 1, "a": [1.5]}})
    message = EventMessage.from_bytes(EventMessage.from_stored(event, "deployments").to_bytes())
    from_wire = LedgerEntry.from_stored_event(message.source, message)
    from_store = LedgerEntry.from_stored_event("deployments", event)
    assert from_wire.canonical_bytes() == from_store.canonical_bytes()
