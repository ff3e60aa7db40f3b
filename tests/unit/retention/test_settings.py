"""Retention settings: the policy file a service is told to enforce must be there; production never falls
back to the built-in defaults in silence."""

from __future__ import annotations

from pathlib import Path

import lfr_retention.settings as retention_settings
import pytest
from lfr_platform.settings import ConfigurationError
from lfr_retention.domain.policy import RetentionPolicy
from lfr_retention.settings import RetentionSettings

from tests.fixtures.pki import Pki

SHIPPED = Path(__file__).resolve().parents[3] / "deploy" / "retention-policy.yaml"


@pytest.fixture
def production(tmp_path: Path) -> dict[str, object]:
    pki = Pki(tmp_path)
    cert, key = pki.issue("retention", server=True)
    return {
        "environment": "production",
        "auth": {"mode": "oidc", "jwks_url": "https://idp.example/jwks"},
        "grpc_tls": {"cert_file": cert, "key_file": key, "ca_file": pki.ca_file},
    }


def test_a_configured_policy_file_that_is_missing_is_refused(tmp_path: Path, production) -> None:
    missing = tmp_path / "retention-policy.yaml"
    for environment in ({}, production):
        with pytest.raises(
            ConfigurationError, match=f"LFR_RETENTION_POLICY_FILE: no retention policy at {missing}"
        ):
            RetentionSettings.load(retention_policy_file=missing, **environment)


def test_production_enforces_the_configured_policy(production) -> None:
    settings = RetentionSettings.load(retention_policy_file=SHIPPED, **production)
    assert settings.policy().alert_media.retention_days == 31


def test_production_without_a_policy_file_refuses_the_built_in_defaults(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, production
) -> None:
    # An installed package, as in the service image: no deploy/retention-policy.yaml beside it.
    monkeypatch.setattr(
        retention_settings, "DEFAULT_POLICY_FILE", tmp_path / "deploy" / "retention-policy.yaml"
    )
    with pytest.raises(ConfigurationError, match="production refuses to enforce built-in defaults"):
        RetentionSettings.load(**production)
    # Development (`lfr up` from an installed package) may use the built-in defaults.
    assert RetentionSettings.load().policy() == RetentionPolicy()
