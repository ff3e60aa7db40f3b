"""Canonical bytes of a ledger entry: the exact bytes the hash chain and the Merkle tree commit to.

The form (call it "LFR canonical JSON v1") is a strict subset of RFC 8785 (JCS) that Python's json module
produces deterministically, so any verifier can rebuild it:

* UTF-8, no BOM, no insignificant whitespace (separators "," and ":");
* object keys sorted by Unicode code point (equal to JCS's UTF-16 order for every key the platform uses:
  keys are ASCII identifiers);
* strings escaped as `json.dumps(ensure_ascii=False)` does: only `"`, `\\`, and control characters;
* integers in plain decimal; floats as Python's shortest round-trip repr (`0.61`, `1e-07`); NaN and
  infinities are refused (JSON has no spelling for them);
* times as RFC 3339 UTC with microseconds and a `Z` suffix (`2026-11-22T12:30:38.000000Z`).

Floats are the one place this can differ from JCS (`1e-07` vs `1e-7`); events carry few floats (scores)
and the verifier recomputes with the same function, so the difference never breaks verification.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

CANONICAL_FORM = "lfr-canonical-json/1"

CANONICAL_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"), check_circular=True
)


def canonical_json(value: Any) -> bytes:
    """Canonical UTF-8 bytes of a JSON-ready value (dict/list/str/int/float/bool/None)."""
    return CANONICAL_ENCODER.encode(value).encode("utf-8")


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with microseconds; naive datetimes are refused (every platform time is aware)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime in a ledger entry: give a timezone (UTC)")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class LedgerEntry:
    """One recorded domain event as the ledger sees it: the source envelope, nothing added.

    `source_position` is the event's global position in its own service's store, so backfill can
    find what is missing and readers can restore each service's order.
    """

    source_service: str
    event_id: str
    stream_id: str
    stream_type: str
    version: int
    source_position: int
    event_type: str
    schema_version: int
    data: Mapping[str, Any]
    metadata: Mapping[str, Any]
    occurred_at: str
    recorded_at: str

    def as_payload(self) -> dict[str, Any]:
        return {
            "source_service": self.source_service,
            "event_id": self.event_id,
            "stream_id": self.stream_id,
            "stream_type": self.stream_type,
            "version": self.version,
            "source_position": self.source_position,
            "event_type": self.event_type,
            "schema_version": self.schema_version,
            "data": dict(self.data),
            "metadata": dict(self.metadata),
            "occurred_at": self.occurred_at,
            "recorded_at": self.recorded_at,
        }

    def canonical_bytes(self) -> bytes:
        return canonical_json(self.as_payload())

    @property
    def actor(self) -> str | None:
        actor = self.metadata.get("actor")
        return str(actor) if actor is not None else None

    @property
    def role(self) -> str | None:
        role = self.metadata.get("role")
        return str(role) if role is not None else None

    @property
    def deployment_id(self) -> str | None:
        """The deployment this event concerns, when it says so (for oversight queries by deployment)."""
        raw = self.data.get("deployment_id")
        if isinstance(raw, str) and raw:
            return raw
        if self.stream_type.lower().startswith("deployment"):
            return self.stream_id
        return None

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> LedgerEntry:
        """Rebuild from a parsed payload; KeyError/TypeError/ValueError on a malformed one."""
        expected = set(PAYLOAD_KEYS)
        if set(payload) != expected:
            raise ValueError(f"ledger payload keys differ: {sorted(set(payload) ^ expected)}")
        for key in ("version", "source_position", "schema_version"):
            if type(payload[key]) is not int:
                raise ValueError(f"{key} must be an integer")
        if not isinstance(payload["data"], Mapping) or not isinstance(payload["metadata"], Mapping):
            raise ValueError("data and metadata must be objects")
        return cls(**{key: payload[key] for key in PAYLOAD_KEYS})

    @classmethod
    def from_stored_event(cls, source_service: str, event: Any) -> LedgerEntry:
        """From an `lfr_platform.eventstore.StoredEvent` (duck-typed: the domain imports no adapter)."""
        metadata = event.metadata
        as_dict = metadata.as_dict() if hasattr(metadata, "as_dict") else dict(metadata)
        return cls(
            source_service=source_service,
            event_id=str(event.event_id),
            stream_id=str(event.stream_id),
            stream_type=str(event.stream_type),
            version=int(event.version),
            source_position=int(event.position),
            event_type=str(event.event_type),
            schema_version=int(event.schema_version),
            data=dict(event.data),
            metadata=as_dict,
            occurred_at=format_time(event.occurred_at),
            recorded_at=format_time(event.recorded_at),
        )


PAYLOAD_KEYS = (
    "source_service",
    "event_id",
    "stream_id",
    "stream_type",
    "version",
    "source_position",
    "event_type",
    "schema_version",
    "data",
    "metadata",
    "occurred_at",
    "recorded_at",
)
