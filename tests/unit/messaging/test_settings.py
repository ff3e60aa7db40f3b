from __future__ import annotations

import os
from pathlib import Path

import pytest
from lfr_platform.messaging import KafkaSettings
from pydantic import ValidationError


def test_plaintext_defaults_never_use_idempotence_or_auto_commit() -> None:
    settings = KafkaSettings(bootstrap_servers="127.0.0.1:9999", client_id="svc")
    producer = settings.producer_kwargs()
    consumer = settings.consumer_kwargs("group-1")
    assert producer["enable_idempotence"] is False  # tansu rejects InitProducerId
    assert producer["acks"] == "all"
    assert consumer["enable_auto_commit"] is False
    assert consumer["auto_offset_reset"] == "earliest"
    assert consumer["group_id"] == "group-1"
    assert "sasl_mechanism" not in producer and "ssl_context" not in producer


def test_sasl_needs_credentials() -> None:
    with pytest.raises(ValidationError, match="sasl"):
        KafkaSettings(security_protocol="SASL_PLAINTEXT")


def test_sasl_password_reaches_the_client_but_never_a_log_line() -> None:
    settings = KafkaSettings(
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="SCRAM-SHA-512",
        sasl_username="lfr-ingest",
        sasl_password="s3cret-value",
    )
    assert settings.producer_kwargs()["sasl_plain_password"] == "s3cret-value"
    assert settings.consumer_kwargs(None)["sasl_mechanism"] == "SCRAM-SHA-512"
    assert "s3cret-value" not in repr(settings)
    assert "s3cret-value" not in settings.model_dump_json()


def test_ssl_builds_a_context_and_cert_goes_with_key() -> None:
    settings = KafkaSettings(security_protocol="SSL")
    assert settings.admin_kwargs()["ssl_context"] is not None
    with pytest.raises(ValidationError, match="together"):
        KafkaSettings(security_protocol="SSL", ssl_cert_file="/tmp/cert.pem")  # type: ignore[arg-type]


def test_group_timings_reach_the_consumer_and_the_heartbeat_must_be_shorter() -> None:
    default = KafkaSettings().consumer_kwargs("g")
    assert (default["session_timeout_ms"], default["heartbeat_interval_ms"]) == (10_000, 3_000)
    tuned = KafkaSettings(session_timeout_ms=3_000, heartbeat_interval_ms=1_000).consumer_kwargs("g")
    assert (tuned["session_timeout_ms"], tuned["heartbeat_interval_ms"]) == (3_000, 1_000)
    with pytest.raises(ValidationError, match="heartbeat_interval_ms must be shorter"):
        KafkaSettings(session_timeout_ms=3_000, heartbeat_interval_ms=3_000)


def test_the_embedded_stack_shortens_group_timings_and_a_service_reads_them(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from lfr_cli.stack import Stack, StackConfig
    from lfr_cli.topology import SERVICES
    from lfr_deployments.settings import DeploymentsSettings

    for name in [n for n in os.environ if n.startswith("LFR_")]:
        monkeypatch.delenv(name)
    spec = next(s for s in SERVICES if s.name == "deployments")
    external = Stack(StackConfig(data_dir=tmp_path, kafka_bootstrap="kafka:9092")).service_env(spec)
    assert "LFR_KAFKA__SESSION_TIMEOUT_MS" not in external  # a real cluster keeps the defaults
    embedded = Stack(StackConfig(data_dir=tmp_path)).service_env(spec)
    for name, value in embedded.items():
        if name.startswith("LFR_"):
            monkeypatch.setenv(name, value)
    kafka = DeploymentsSettings.load().kafka
    assert (kafka.session_timeout_ms, kafka.heartbeat_interval_ms) == (3_000, 1_000)
