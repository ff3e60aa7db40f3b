import base64
import os
import stat
from pathlib import Path
from typing import ClassVar

import pytest
from lfr_platform.blobs import FileBlobStore, blob_key, new_blob_id, open_blob_store
from lfr_platform.blobs.s3 import S3BlobStore
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


# Blob store (LFR_BLOBS__*) --------------------------------------------------------------------------


class AlertsLike(ServiceSettings):
    service: str = "alerts"


class InferenceLike(ServiceSettings):
    service: str = "inference"


async def test_services_of_one_data_dir_share_one_blob_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("LFR_DATA_DIR", str(tmp_path))  # what `lfr up` gives every service
    writer, reader = open_blob_store(InferenceLike.load()), open_blob_store(AlertsLike.load())
    assert isinstance(writer, FileBlobStore) and AlertsLike.load().blob_dir == tmp_path / "blobs"
    key = blob_key("alert_media", "dep-1", new_blob_id())
    await writer.put(key, b"sealed crop")
    assert await reader.get(key) == b"sealed crop"
    assert (tmp_path / "blobs" / key).read_bytes() == b"sealed crop"


@pytest.mark.parametrize("url", ["/srv/lfr/blobs", "file:///srv/lfr/blobs"])
def test_a_directory_url_names_the_blob_directory(url: str) -> None:
    assert ServiceSettings.load(blobs={"url": url}).blob_dir == Path("/srv/lfr/blobs")


async def test_s3_environment_opens_one_bucket_for_every_service(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, s3_env: dict[str, str], s3_bucket: str
) -> None:
    """Against moto's S3 emulator (tests/fixtures/s3.py): S3 is a cloud service that cannot run here."""
    for name, value in s3_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("LFR_DATA_DIR", str(tmp_path))
    settings = InferenceLike.load()
    assert settings.blobs.s3_location == (s3_bucket, "lfr") and settings.blob_dir is None
    assert s3_env["LFR_BLOBS__SECRET_ACCESS_KEY"] not in repr(settings)
    writer, reader = open_blob_store(settings), open_blob_store(AlertsLike.load())
    assert isinstance(writer, S3BlobStore)
    key = blob_key("alert_media", "dep-1", new_blob_id())
    await writer.put(key, b"sealed crop")
    assert await reader.get(key) == b"sealed crop"
    assert not (tmp_path / "blobs").exists()  # nothing went to the pod's local disk


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("s3://", "names no bucket"),
        ("s3:///lfr", "names no bucket"),
        ("s3://Bad_Bucket", "not a valid S3 bucket name"),
        ("s3://lfr-blobs/a/../b", "'..' segment"),
        ("s3://key:secret@lfr-blobs", "credentials do not go in the URL"),
        ("gs://lfr-blobs", "unsupported blob store"),
        ("", "empty"),
    ],
)
def test_bad_blob_url_is_refused_at_start_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, url: str, message: str
) -> None:
    monkeypatch.setenv("LFR_BLOBS__URL", url)
    with pytest.raises(ConfigurationError) as error:
        ServiceSettings.load()
    assert "LFR_BLOBS__URL" in str(error.value) and message in str(error.value)


def test_misspelt_blob_variable_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LFR_BLOBS__URL", "s3://lfr-blobs")
    monkeypatch.setenv("LFR_BLOBS__ENDPOINT", "https://minio:9000")  # ENDPOINT_URL was meant
    with pytest.raises(ConfigurationError, match="LFR_BLOBS__ENDPOINT: Extra inputs are not permitted"):
        ServiceSettings.load()


def test_inconsistent_blob_settings_are_refused() -> None:
    with pytest.raises(
        ConfigurationError, match="ACCESS_KEY_ID and LFR_BLOBS__SECRET_ACCESS_KEY go together"
    ):
        ServiceSettings.load(blobs={"url": "s3://lfr-blobs", "access_key_id": "AKIA"})
    with pytest.raises(ConfigurationError, match="LFR_BLOBS__ENDPOINT_URL only apply to an s3://"):
        ServiceSettings.load(blobs={"endpoint_url": "https://minio:9000"})
    with pytest.raises(ConfigurationError, match="LFR_BLOBS__ENDPOINT_URL: .*not an http"):
        ServiceSettings.load(blobs={"url": "s3://lfr-blobs", "endpoint_url": "minio:9000"})


def test_production_refuses_a_placeholder_blob_secret() -> None:
    blobs = {"url": "s3://lfr-blobs", "access_key_id": "lfr", "secret_access_key": "changeme"}
    with pytest.raises(ConfigurationError, match="LFR_BLOBS__SECRET_ACCESS_KEY: a placeholder"):
        ServiceSettings.load(environment="production", auth=OIDC, blobs=blobs)
