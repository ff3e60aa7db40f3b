"""The retention policy file: the shipped default validates; mistakes are refused naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from lfr_retention.domain.policy import PolicyError, RetentionPolicy, load_policy, policy_from_yaml

DEFAULT = Path(__file__).resolve().parents[3] / "deploy" / "retention-policy.yaml"


def test_the_shipped_policy_is_valid_and_says_what_issue_8_says() -> None:
    policy = load_policy(DEFAULT)
    assert policy.alert_media.retention_days == 31
    assert policy.watchlist_media.hours_after_deployment_end == 24
    assert policy.frames.max_retention_seconds <= 60
    assert policy.frames.topic == "lfr.ingest.frames.v1"
    assert policy.unmatched_biometrics.persisted is False
    assert policy.audit_ledger.keep and not policy.audit_ledger.contains_biometrics
    assert policy == RetentionPolicy()  # the built-in defaults match the file


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("frames:\n  max_retention_seconds: 120\n", "frames.max_retention_seconds"),
        ("alert_media:\n  retention_days: 0\n", "alert_media.retention_days"),
        ("alert_media:\n  retention_dayz: 31\n", "alert_media.retention_dayz"),
        ("unmatched_biometrics:\n  persisted: true\n", "unmatched_biometrics.persisted"),
        (
            "watchlist_media:\n  hours_after_deployment_end: -1\n",
            "watchlist_media.hours_after_deployment_end",
        ),
        ("audit_ledger:\n  keep: false\n", "audit_ledger.keep"),
        ("version: 2\n", "version"),
    ],
)
def test_an_invalid_policy_names_the_field(text: str, field: str) -> None:
    with pytest.raises(PolicyError) as caught:
        policy_from_yaml(text, "policy.yaml")
    assert f"{field}:" in str(caught.value)
    assert str(caught.value).startswith("policy.yaml is invalid")


def test_broken_yaml_is_a_policy_error() -> None:
    with pytest.raises(PolicyError, match="not valid YAML"):
        policy_from_yaml("alert_media: [unclosed\n")


def test_a_receipt_cites_the_rule_applied() -> None:
    assert RetentionPolicy().reference("alert_media") == "default@v1:alert_media.retention_days=31"
