"""Test data for the audit ledger: realistic event envelopes (references and hashes, never biometrics)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from lfr_audit.domain.canonical import LedgerEntry, format_time
from lfr_audit.domain.ledger import Ledger, LedgerRecord
from lfr_audit.domain.tree_head import SignedTreeHead, TreeHeadSigner

SERVICES = ("deployments", "watchlists", "inference", "alerts", "retention", "ingest")
EVENT_TYPES = {
    "deployments": ("DeploymentRequested", "DeploymentAuthorised", "DeploymentHalted"),
    "watchlists": ("WatchlistEntryAdded", "WatchlistFrozen"),
    "inference": ("FaceMatched", "FacesProcessedTallied"),
    "alerts": ("AlertRaised", "AlertAdjudicated"),
    "retention": ("HoldPlaced", "DeletionReceiptIssued"),
    "ingest": ("CameraRegistered", "CameraWentDown"),
}
ROLES = ("authorising_officer", "silver_commander", "watchlist_manager", "operator", "admin")
START = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
SIGNING_SEED = bytes(range(32))


def make_entry(rng: random.Random, index: int) -> LedgerEntry:
    service = SERVICES[index % len(SERVICES)]
    deployment = f"dep-{rng.randrange(5)}"
    stream_type = "Deployment" if service == "deployments" else service.rstrip("s").capitalize()
    stream_id = deployment if service == "deployments" else f"{stream_type.lower()}-{rng.randrange(50)}"
    data: dict[str, object] = {"note": f"event {index} é✓", "count": rng.randrange(1000)}
    if service != "deployments":
        data["deployment_id"] = deployment
    if service == "inference":
        data["score"] = round(rng.random(), 4)
        data["crop_blob_id"] = f"blob-{rng.getrandbits(64):016x}"
    moment = START + timedelta(seconds=index)
    return LedgerEntry(
        source_service=service,
        event_id=str(UUID(int=rng.getrandbits(128))),
        stream_id=stream_id,
        stream_type=stream_type,
        version=index // len(SERVICES) + 1,
        source_position=index // len(SERVICES) + 1,
        event_type=rng.choice(EVENT_TYPES[service]),
        schema_version=1,
        data=data,
        metadata={"actor": f"officer-{rng.randrange(20)}", "role": rng.choice(ROLES), "correlation_id": None},
        occurred_at=format_time(moment),
        recorded_at=format_time(moment + timedelta(milliseconds=3)),
    )


def signer() -> TreeHeadSigner:
    return TreeHeadSigner(Ed25519PrivateKey.from_private_bytes(SIGNING_SEED))


def build_ledger(
    count: int, *, seed: int = 7, head_every: int | None = None
) -> tuple[list[LedgerRecord], list[SignedTreeHead], TreeHeadSigner]:
    """`count` records and signed tree heads every `head_every` entries plus one at the end."""
    rng = random.Random(seed)
    ledger = Ledger()
    key = signer()
    records: list[LedgerRecord] = []
    heads: list[SignedTreeHead] = []
    for index in range(count):
        records.append(ledger.append(make_entry(rng, index)))
        if head_every and ledger.size % head_every == 0 and ledger.size < count:
            heads.append(key.sign(ledger.size, ledger.tree.root(), ledger.head_hash, START))
    heads.append(key.sign(ledger.size, ledger.tree.root(), ledger.head_hash, START + timedelta(days=1)))
    return records, heads, key
