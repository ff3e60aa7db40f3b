"""Audit settings: the tree-head key (created once in development, required in production) and topics."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from lfr_audit.settings import DEFAULT_TOPICS, AuditSettings
from lfr_platform.settings import ConfigurationError

from tests.fixtures.pki import Pki

SEED = bytes(range(32))


def test_development_creates_one_signing_key_under_data_dir(tmp_path: Path) -> None:
    settings = AuditSettings.load(data_dir=tmp_path)
    first = settings.tree_head_signer()
    again = AuditSettings.load(data_dir=tmp_path).tree_head_signer()
    assert first.key_id == again.key_id
    assert (tmp_path / "audit-signing.pem").stat().st_mode & 0o077 == 0


def test_a_given_seed_is_used_in_hex_or_base64(tmp_path: Path) -> None:
    by_hex = AuditSettings.load(data_dir=tmp_path, audit_signing_key=SEED.hex()).tree_head_signer()
    by_b64 = AuditSettings.load(data_dir=tmp_path, audit_signing_key=base64.b64encode(SEED).decode())
    assert by_hex.key_id == by_b64.tree_head_signer().key_id
    assert not (tmp_path / "audit-signing.pem").exists()


def test_production_refuses_a_missing_or_bad_key(tmp_path: Path) -> None:
    pki = Pki(tmp_path)
    cert, key = pki.issue("audit", server=True)
    production = {"environment": "production", "master_key": base64.b64encode(b"k" * 32).decode(),
                  "auth": {"mode": "oidc", "jwks_url": "https://idp.example/jwks"},
                  "grpc_tls": {"cert_file": cert, "key_file": key, "ca_file": pki.ca_file}}  # fmt: skip
    with pytest.raises(ConfigurationError, match="LFR_AUDIT_SIGNING_KEY"):
        AuditSettings.load(data_dir=tmp_path, **production)
    with pytest.raises(ConfigurationError, match="LFR_AUDIT_SIGNING_KEY"):
        AuditSettings.load(data_dir=tmp_path, audit_signing_key="not-a-key")
    assert AuditSettings.load(data_dir=tmp_path, audit_signing_key=SEED.hex(), **production)


def test_topics_default_to_every_domain_topic_and_never_frames(tmp_path: Path) -> None:
    assert AuditSettings.load(data_dir=tmp_path).audit_topics == list(DEFAULT_TOPICS)
    assert not any("frames" in topic for topic in DEFAULT_TOPICS)
    with pytest.raises(ConfigurationError, match="frames"):
        AuditSettings.load(data_dir=tmp_path, audit_topics=["lfr.ingest.frames.v1"])
