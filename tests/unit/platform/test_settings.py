import base64
import os
import stat
from pathlib import Path
from typing import ClassVar

import pytest
from lfr_platform.settings import ConfigurationError, ServiceSettings

GOOD_KEY = base64.b64encode(bytes(range(32))).decode()


class DeploymentsSettings(ServiceSettings):
    service: str = "deployments"
    http_port: int = 8101
    threshold_default: float = 0.6


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("LFR_"):
            monkeypatch.delenv(name)


def test_reads_prefixed_and_nested_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("LFR_HTTP_PORT", "9999")
    monkeypatch.setenv("LFR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("LFR_AUTH__AUDIENCE", "force-x")
    monkeypatch.setenv("LFR_KAFKA__BOOTSTRAP_SERVERS", "kafka:9093")
    monkeypatch.setenv("LFR_THRESHOLD_DEFAULT", "0.65")
    settings = DeploymentsSettings.load()
    assert settings.http_port == 9999
    assert settings.auth.audience == "force-x"
    assert settings.kafka.bootstrap_servers == "kafka:9093"
    assert settings.threshold_default == 0.65
    assert settings.resolved_database_url == f"sqlite+aiosqlite:///{tmp_path.resolve()}/deployments.db"


def test_explicit_database_url_wins_and_is_secret() -> None:
    settings = ServiceSettings(database_url="postgresql+asyncpg://app:pw@db/lfr")
    assert settings.resolved_database_url.endswith("@db/lfr")
    assert "pw" not in repr(settings)


class KeyHoldingSettings(ServiceSettings):
    requires_master_key: ClassVar[bool] = True


OIDC = {"mode": "oidc", "issuer": "https://idp", "audience": "lfr", "jwks_url": "https://idp/jwks"}


def test_production_refuses_placeholder_master_key_and_embedded_issuer() -> None:
    with pytest.raises(ConfigurationError) as error:
        KeyHoldingSettings.load(environment="production", master_key="changeme")
    message = str(error.value)
    assert "LFR_MASTER_KEY" in message and "placeholder" in message
    assert "embedded development issuer is refused" in message


def test_production_refuses_missing_master_key() -> None:
    with pytest.raises(ConfigurationError, match="LFR_MASTER_KEY: missing"):
        KeyHoldingSettings.load(environment="production", auth=OIDC)


def test_services_that_hold_no_keys_run_in_production_without_the_master_key() -> None:
    settings = ServiceSettings.load(environment="production", auth=OIDC)
    assert settings.master_key is None


def test_production_accepts_real_key_and_oidc() -> None:
    settings = ServiceSettings.load(
        environment="production",
        master_key=GOOD_KEY,
        auth={"mode": "oidc", "issuer": "https://idp", "audience": "lfr", "jwks_url": "https://idp/jwks"},
    )
    assert settings.master_key_bytes() == bytes(range(32))


def test_wrong_length_master_key_is_named() -> None:
    with pytest.raises(ConfigurationError, match="decodes to 16 bytes; need 32"):
        ServiceSettings.load(master_key=base64.b64encode(b"x" * 16).decode())


def test_every_problem_is_listed_with_its_variable() -> None:
    with pytest.raises(ConfigurationError) as error:
        ServiceSettings.load(http_port="not-a-port", log_level="LOUD", body_limit_bytes=0)
    message = str(error.value)
    for variable in ("LFR_HTTP_PORT", "LFR_LOG_LEVEL", "LFR_BODY_LIMIT_BYTES"):
        assert variable in message


def test_oidc_needs_jwks_url() -> None:
    with pytest.raises(ConfigurationError, match="jwks_url"):
        ServiceSettings.load(auth={"mode": "oidc"})


def test_symmetric_algorithms_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="asymmetric"):
        ServiceSettings.load(auth={"algorithms": ["HS256"]})


def test_development_creates_one_stable_private_master_key(tmp_path: Path) -> None:
    first = ServiceSettings(data_dir=tmp_path).master_key_bytes()
    second = ServiceSettings(data_dir=tmp_path).master_key_bytes()
    assert first == second and len(first) == 32
    key_file = tmp_path / "master.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert ServiceSettings(data_dir=tmp_path / "other").master_key_bytes() != first
