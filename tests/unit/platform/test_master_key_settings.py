"""LFR_PREVIOUS_MASTER_KEYS: validated at start with errors naming the setting (never the value), and the
embedded key files `lfr keys rotate` keeps under the data directory, including a rotation resumed
after a crash."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from lfr_platform.crypto import master_key_id
from lfr_platform.key_rotation import begin_dev_rotation, finish_dev_rotation
from lfr_platform.settings import (
    DEV_MASTER_KEY_FILE,
    DEV_PREVIOUS_MASTER_KEYS_FILE,
    ConfigurationError,
    ServiceSettings,
)

A = bytes(range(32))
B = bytes(range(40, 72))


def b64(key: bytes) -> str:
    return base64.b64encode(key).decode()


def test_previous_master_keys_are_a_comma_separated_base64_list(tmp_path: Path) -> None:
    settings = ServiceSettings.load(data_dir=tmp_path, previous_master_keys=f" {b64(A)} ,\n{b64(B)},")
    assert settings.previous_master_keys_bytes() == [A, B]
    assert b64(A) not in repr(settings) and b64(A) not in str(settings.model_dump())
    assert ServiceSettings.load(data_dir=tmp_path).previous_master_keys_bytes() == []


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (f"{b64(A)},{b64(A[:16])}", "key 2 of 2: decodes to 16 bytes; need 32"),
        ("not base64!", "key 1 of 1: not valid base64"),
        ("changeme", "key 1 of 1: "),
    ],
)
def test_a_bad_previous_key_is_refused_naming_the_setting_not_the_value(value: str, problem: str) -> None:
    with pytest.raises(ConfigurationError) as refused:
        ServiceSettings.load(previous_master_keys=value)
    message = str(refused.value)
    assert f"LFR_PREVIOUS_MASTER_KEYS: {problem}" in message
    assert value not in message and b64(A) not in message


def test_embedded_rotation_keeps_the_old_key_until_finished_and_resumes_after_a_crash(tmp_path: Path) -> None:
    settings = ServiceSettings.load(data_dir=tmp_path)
    assert settings.uses_dev_master_key
    first = settings.master_key_bytes()

    begin_dev_rotation(tmp_path)
    second = settings.master_key_bytes()
    assert second != first and settings.previous_master_keys_bytes() == [first]
    assert (tmp_path / DEV_PREVIOUS_MASTER_KEYS_FILE).stat().st_mode & 0o077 == 0

    begin_dev_rotation(tmp_path)  # run again before finishing (the re-wrap crashed): same rotation
    assert settings.master_key_bytes() == second and settings.previous_master_keys_bytes() == [first]

    finish_dev_rotation(tmp_path)
    assert settings.previous_master_keys_bytes() == []
    begin_dev_rotation(tmp_path)  # a later rotation starts afresh
    assert settings.master_key_bytes() not in (first, second)
    assert settings.previous_master_keys_bytes() == [second]


def test_a_crash_between_saving_the_old_key_and_writing_the_new_one_still_rotates(tmp_path: Path) -> None:
    old = ServiceSettings.load(data_dir=tmp_path).master_key_bytes()
    (tmp_path / DEV_PREVIOUS_MASTER_KEYS_FILE).write_text(b64(old) + "\n")  # the state that crash leaves

    begin_dev_rotation(tmp_path)
    settings = ServiceSettings.load(data_dir=tmp_path)
    assert settings.master_key_bytes() != old and settings.previous_master_keys_bytes() == [old]


def test_configured_keys_never_read_the_embedded_files(tmp_path: Path) -> None:
    (tmp_path / DEV_MASTER_KEY_FILE).write_text(b64(A))
    (tmp_path / DEV_PREVIOUS_MASTER_KEYS_FILE).write_text(b64(B))
    settings = ServiceSettings.load(data_dir=tmp_path, master_key=b64(B))
    assert not settings.uses_dev_master_key
    assert settings.previous_master_keys_bytes() == []
    assert master_key_id(settings.master_key_bytes()) == master_key_id(B)
