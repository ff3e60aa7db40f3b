"""A service process configured for production without gRPC mutual TLS does not start: `python -m
lfr_alerts` exits at once with the message naming the LFR_GRPC_TLS__* settings, and binds nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.fixture
def production_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LFR_")}
    return env | {
        "LFR_ENVIRONMENT": "production",
        "LFR_AUTH__MODE": "oidc",
        "LFR_AUTH__JWKS_URL": "https://idp.example.invalid/jwks",
        "LFR_DATA_DIR": str(tmp_path),
    }


def test_a_production_service_without_grpc_tls_exits_naming_the_settings(
    production_env: dict[str, str], tmp_path: Path
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "lfr_alerts"],
        env=production_env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "invalid configuration for AlertsSettings" in result.stderr
    assert "LFR_GRPC_TLS__CERT_FILE, LFR_GRPC_TLS__KEY_FILE, LFR_GRPC_TLS__CA_FILE unset" in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # refused before it created its database or anything else
