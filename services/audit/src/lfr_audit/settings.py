"""Configuration of the audit service (environment, prefix LFR_), validated at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from lfr_platform.files import write_file_once
from lfr_platform.settings import ENV_PREFIX, ServiceSettings
from pydantic import Field, SecretStr, model_validator

from lfr_audit.domain.tree_head import TreeHeadSigner, load_private_key

DEV_SIGNING_KEY_FILE = "audit-signing.pem"

# Every domain event topic; never the frames topic (encrypted biometric frames are not events).
DEFAULT_TOPICS = (
    "lfr.deployments.events.v1",
    "lfr.watchlists.events.v1",
    "lfr.ingest.events.v1",
    "lfr.inference.events.v1",
    "lfr.alerts.events.v1",
    "lfr.retention.events.v1",
)


class AuditSettings(ServiceSettings):
    service: str = "audit"
    http_port: int = 8106
    grpc_port: int = 9106
    audit_signing_key: SecretStr | None = Field(
        default=None,
        description="Ed25519 tree-head key: PEM PKCS#8, or a 32-byte seed as hex/base64; in development "
        "created under data_dir if unset",
    )
    audit_topics: list[str] = Field(default_factory=lambda: list(DEFAULT_TOPICS))
    grpc_targets: dict[str, str] = Field(default_factory=dict)
    # How long an event that arrived ahead of a missing predecessor waits for it over Kafka (events of
    # one service are spread over partitions) before the gap is fetched from the service's EventLog.
    audit_gap_grace_seconds: float = Field(default=0.5, ge=0)
    audit_backfill_interval_seconds: float = Field(default=30.0, gt=0)
    audit_tree_head_interval_seconds: float = Field(default=60.0, gt=0)
    audit_sse_heartbeat_seconds: float = Field(default=15.0, gt=0)
    # Events held back per service while a gap is open; beyond it they are dropped from memory and
    # read again from the source's store (which is the system of record) once it answers.
    audit_max_pending_per_service: int = Field(default=20_000, ge=100)

    @model_validator(mode="after")
    def _signing_key(self) -> Self:
        if self.audit_signing_key is not None:
            try:
                load_private_key(self.audit_signing_key.get_secret_value())
            except ValueError as error:
                raise ValueError(f"{ENV_PREFIX}AUDIT_SIGNING_KEY: {error}") from None
        elif self.environment == "production":
            raise ValueError(
                f"{ENV_PREFIX}AUDIT_SIGNING_KEY: missing; production needs an Ed25519 private key (PEM) or "
                "a 32-byte seed (hex/base64) for the signed tree heads"
            )
        if any(".frames." in topic for topic in self.audit_topics):
            raise ValueError(f"{ENV_PREFIX}AUDIT_TOPICS: the frames topic carries biometrics; never audit it")
        return self

    @property
    def dev_signing_key_path(self) -> Path:
        return self.data_dir / DEV_SIGNING_KEY_FILE

    def tree_head_signer(self) -> TreeHeadSigner:
        """The signer; in development without a key, one is created once under data_dir (I/O at start)."""
        if self.audit_signing_key is not None:
            return TreeHeadSigner.from_setting(self.audit_signing_key.get_secret_value())
        path = self.dev_signing_key_path
        if not path.exists():
            pem = Ed25519PrivateKey.generate().private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            write_file_once(path, pem)
        return TreeHeadSigner.from_setting(path.read_text())

    def source_targets(self) -> dict[str, str]:
        """EventLog targets of the services whose events the ledger records (not the audit service)."""
        return {name: target for name, target in self.grpc_targets.items() if name != self.service}
