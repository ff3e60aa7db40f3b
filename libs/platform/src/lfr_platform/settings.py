"""The settings base every service subclasses: one pydantic-settings class, prefix `LFR_`, validated at start.

Nested values use `__` (e.g. `LFR_AUTH__MODE=oidc`, `LFR_BLOBS__URL=s3://lfr-blobs`). A service adds its own
fields:

    class DeploymentsSettings(ServiceSettings):
        service: str = "deployments"
        http_port: int = 8101
        grpc_port: int = 9101

and loads them with `DeploymentsSettings.load()`, which turns every validation problem into one readable
`ConfigurationError` listing each offending `LFR_...` variable, so a misconfigured pod dies at start-up
with a message an operator can act on.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import re
import secrets
from pathlib import Path
from typing import Any, ClassVar, Literal, Self
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from lfr_platform.files import write_file_once
from lfr_platform.messaging.settings import KafkaSettings

ENV_PREFIX = "LFR_"
MASTER_KEY_BYTES = 32
DEV_MASTER_KEY_FILE = "master.key"
# Embedded mode's stand-in for LFR_PREVIOUS_MASTER_KEYS while `lfr keys rotate` runs (one base64 key a line).
DEV_PREVIOUS_MASTER_KEYS_FILE = "master.key.previous"

# Values people paste from templates; accepting one outside development would make every key guessable.
_PLACEHOLDERS = frozenset(
    {
        "",
        "changeme",
        "change-me",
        "changethis",
        "change_this",
        "secret",
        "password",
        "placeholder",
        "dev",
        "development",
        "test",
        "todo",
        "xxx",
        "none",
        "null",
        "default",
        "example",
    }
)


class ConfigurationError(Exception):
    """Settings are missing or invalid; the message lists every problem, one per line."""


class AuthSettings(BaseModel):
    """How bearer tokens are verified: the embedded development issuer, or an OIDC provider's JWKS."""

    mode: Literal["embedded", "oidc"] = "embedded"
    issuer: str = "lfr-embedded-dev-issuer"
    audience: str = "lfr"
    jwks_url: str | None = None
    dev_key_path: Path | None = Field(
        default=None,
        description="Embedded issuer's private key (PEM); default <data_dir>/auth/dev-issuer.pem",
    )
    role_claim: str = "role"
    name_claim: str = "name"
    algorithms: list[str] = Field(default_factory=lambda: ["EdDSA", "ES256", "RS256", "PS256"])
    leeway_seconds: int = Field(default=30, ge=0, le=300)
    jwks_cache_seconds: int = Field(default=300, ge=0)

    @model_validator(mode="after")
    def _oidc_needs_endpoints(self) -> Self:
        if self.mode == "oidc":
            missing = [name for name in ("issuer", "audience", "jwks_url") if not getattr(self, name)]
            if missing:
                raise ValueError(f"auth mode 'oidc' needs {', '.join(missing)} (LFR_AUTH__<NAME>)")
        if any(alg.upper().startswith("HS") or alg.lower() == "none" for alg in self.algorithms):
            raise ValueError("only asymmetric JWT algorithms are accepted (no HS*, no 'none')")
        return self


TLS_FILES = ("cert_file", "key_file", "ca_file")


class TlsSettings(BaseModel):
    """TLS for internal gRPC (server side and client side). Unset files mean plaintext (embedded mode)."""

    cert_file: Path | None = None
    key_file: Path | None = None
    ca_file: Path | None = Field(
        default=None, description="CA that signs peers; enables mutual TLS on servers"
    )

    @model_validator(mode="after")
    def _pairs(self) -> Self:
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together")
        return self

    @property
    def enabled(self) -> bool:
        return self.cert_file is not None or self.ca_file is not None

    def production_server_problem(self) -> str | None:
        """Why a production gRPC server may not start with these settings (None: it may).

        Production serves gRPC with mutual TLS only: the server presents its certificate and requires one
        signed by the CA from every caller. Without a certificate it would serve plaintext, and without the
        CA it would answer anyone who can reach the port (deployments, for one, calls no peer, so no client
        check would stop it either).
        """
        unset = [f"LFR_GRPC_TLS__{name.upper()}" for name in TLS_FILES if getattr(self, name) is None]
        if not unset:
            return None
        return (
            f"{', '.join(unset)} unset: production serves gRPC only with mutual TLS (a server presents its "
            "certificate and requires one from the CA of every client; a client presents its own, verifies "
            "the server's)"
        )

    def server_credentials(self) -> Any:
        """`grpc.ServerCredentials` for `server.add_secure_port`; requires cert and key."""
        import grpc

        if self.cert_file is None or self.key_file is None:
            raise ConfigurationError(
                "a gRPC TLS server needs LFR_GRPC_TLS__CERT_FILE and LFR_GRPC_TLS__KEY_FILE"
            )
        root = self.ca_file.read_bytes() if self.ca_file else None
        return grpc.ssl_server_credentials(
            [(self.key_file.read_bytes(), self.cert_file.read_bytes())],
            root_certificates=root,
            require_client_auth=root is not None,
        )

    def channel_credentials(self) -> Any:
        """`grpc.ChannelCredentials` for `grpc.aio.secure_channel` (client cert sent when configured)."""
        import grpc

        return grpc.ssl_channel_credentials(
            root_certificates=self.ca_file.read_bytes() if self.ca_file else None,
            private_key=self.key_file.read_bytes() if self.key_file else None,
            certificate_chain=self.cert_file.read_bytes() if self.cert_file else None,
        )


# AWS's rules for new buckets; other S3-compatible stores accept a subset.
_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_S3_FORM = "s3://<bucket>[/<prefix>]"


class BlobSettings(BaseModel):
    """Where sealed blobs live: a directory, or an S3-compatible bucket that pods on different nodes share.

    Unset, every service uses `<data_dir>/blobs`, so the services of one `lfr up` (one data directory)
    share one blob directory. On Kubernetes the pods share no disk, so the manifests set an `s3://` URL.
    Without an access key pair the S3 client takes credentials from its usual environment chain
    (`AWS_*` variables, web identity token, instance metadata).
    """

    # A misspelt LFR_BLOBS__ variable must stop the pod, not leave it on defaults.
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, description=f"{_S3_FORM} or a directory; default <data_dir>/blobs")
    endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint (MinIO, Ceph, ...); default AWS S3 for the region"
    )
    region: str | None = None
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    path_style: bool = Field(
        default=False, description="address the bucket in the path (most MinIO/Ceph set-ups), not the host"
    )

    @field_validator("url")
    @classmethod
    def _known_form(cls, url: str | None) -> str | None:
        if url is not None:
            _parse_blob_url(url)
        return url

    @field_validator("endpoint_url")
    @classmethod
    def _http_endpoint(cls, url: str | None) -> str | None:
        if url is not None:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
                raise ValueError(f"{url!r} is not an http(s)://host[:port] endpoint")
        return url

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError(
                "LFR_BLOBS__ACCESS_KEY_ID and LFR_BLOBS__SECRET_ACCESS_KEY go together (or set neither)"
            )
        if self.s3_location is None:
            s3_only = ("endpoint_url", "region", "access_key_id", "secret_access_key")
            given = [f"LFR_BLOBS__{name.upper()}" for name in s3_only if getattr(self, name) is not None]
            if self.path_style:
                given.append("LFR_BLOBS__PATH_STYLE")
            if given:
                raise ValueError(f"{', '.join(given)} only apply to an {_S3_FORM} LFR_BLOBS__URL")
        return self

    @property
    def s3_location(self) -> tuple[str, str] | None:
        """(bucket, key prefix) for an `s3://` URL; None when blobs live in a directory."""
        parsed = _parse_blob_url(self.url) if self.url is not None else None
        return parsed if isinstance(parsed, tuple) else None

    def directory(self, data_dir: Path) -> Path | None:
        """The blob directory, or None when blobs live in S3."""
        if self.url is None:
            return data_dir / "blobs"
        parsed = _parse_blob_url(self.url)
        return parsed if isinstance(parsed, Path) else None


def _parse_blob_url(url: str) -> tuple[str, str] | Path:
    """`s3://` as (bucket, prefix), a directory (plain path or `file://`) as a Path; else ValueError."""
    if not url.strip():
        raise ValueError(f"empty; unset it for <data_dir>/blobs, or give {_S3_FORM}")
    if "://" not in url:
        return Path(url)
    parts = urlsplit(url)
    if parts.scheme == "file" and parts.netloc in ("", "localhost") and parts.path:
        return Path(parts.path)
    if parts.scheme != "s3":
        raise ValueError(f"unsupported blob store {url!r}: give a directory or {_S3_FORM}")
    if "@" in parts.netloc:
        raise ValueError("credentials do not go in the URL: use LFR_BLOBS__ACCESS_KEY_ID/SECRET_ACCESS_KEY")
    if not parts.netloc:
        raise ValueError(f"{url!r} names no bucket: give {_S3_FORM}")
    if not _BUCKET.match(parts.netloc) or ".." in parts.netloc:
        raise ValueError(
            f"{parts.netloc!r} is not a valid S3 bucket name (3-63 lowercase letters, digits, '.' and '-')"
        )
    if parts.query or parts.fragment:
        raise ValueError(f"{url!r}: no query or fragment allowed in {_S3_FORM}")
    prefix = parts.path.strip("/")
    if prefix and any(segment in ("", ".", "..") for segment in prefix.split("/")):
        raise ValueError(f"prefix {prefix!r} has an empty, '.' or '..' segment")
    return parts.netloc, prefix


class ServiceSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        extra="ignore",
        validate_default=True,
        hide_input_in_errors=True,  # a rejected value may be a key or a password
    )
    # Only services that wrap keys or secrets under the master key need it (least privilege: the others
    # never hold it). Deployments (data keys) and ingest (camera credentials) set this.
    requires_master_key: ClassVar[bool] = False

    service: str = "lfr"
    environment: Literal["development", "production"] = "development"
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8000, ge=0, le=65535)
    grpc_port: int = Field(default=0, ge=0, le=65535)
    data_dir: Path = Path(".lfr-data")
    database_url: SecretStr | None = Field(
        default=None, description="SQLAlchemy async URL; default sqlite+aiosqlite:///<data_dir>/<service>.db"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    master_key: SecretStr | None = Field(
        default=None, description="base64 of 32 random bytes; in development created under data_dir if unset"
    )
    previous_master_keys: SecretStr | None = Field(
        default=None,
        description="during a master-key rotation only: the retired master key(s), base64, comma-separated; "
        "they unwrap data keys and never wrap new ones",
    )
    auth: AuthSettings = Field(default_factory=AuthSettings)
    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    grpc_tls: TlsSettings = Field(default_factory=TlsSettings)
    blobs: BlobSettings = Field(default_factory=BlobSettings)
    body_limit_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    otlp_endpoint: str | None = None

    @field_validator("previous_master_keys")
    @classmethod
    def _previous_master_keys_decode(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            decode_master_keys(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _production_refuses_development_shortcuts(self) -> Self:
        problems: list[str] = []
        if self.master_key is not None and not _is_placeholder(self.master_key):
            try:
                decode_master_key(self.master_key.get_secret_value())
            except ValueError as error:
                problems.append(f"{ENV_PREFIX}MASTER_KEY: {error}")
        if self.environment == "production":
            if self.requires_master_key and (self.master_key is None or _is_placeholder(self.master_key)):
                problems.append(
                    f"{ENV_PREFIX}MASTER_KEY: missing or a placeholder; production needs base64 of 32 random "
                    "bytes (e.g. `openssl rand -base64 32`)"
                )
            secret = self.blobs.secret_access_key
            if secret is not None and _is_placeholder(secret):
                problems.append(f"{ENV_PREFIX}BLOBS__SECRET_ACCESS_KEY: a placeholder; refused in production")
            if self.auth.mode == "embedded":
                problems.append(
                    f"{ENV_PREFIX}AUTH__MODE: the embedded development issuer is refused in production; "
                    "use 'oidc'"
                )
            if self.grpc_port and (tls_problem := self.grpc_tls.production_server_problem()):
                problems.append(tls_problem)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @classmethod
    def load(cls, **overrides: Any) -> Self:
        """Build from the environment (plus explicit overrides), or raise one readable ConfigurationError."""
        try:
            return cls(**overrides)
        except ValidationError as error:
            raise ConfigurationError(describe_validation_error(cls.__name__, error)) from None

    # Derived values -----------------------------------------------------------------------------------

    @property
    def resolved_database_url(self) -> str:
        if self.database_url is not None:
            return self.database_url.get_secret_value()
        return f"sqlite+aiosqlite:///{(self.data_dir / f'{self.service}.db').resolve()}"

    @property
    def blob_dir(self) -> Path | None:
        """Where blobs live on the filesystem (default `<data_dir>/blobs`); None when they live in S3."""
        return self.blobs.directory(self.data_dir)

    @property
    def dev_key_path(self) -> Path:
        return self.auth.dev_key_path or self.data_dir / "auth" / "dev-issuer.pem"

    def master_key_bytes(self) -> bytes:
        """The 32-byte master key. In development without one, a random key is created once under data_dir.

        Called at start-up by a service's bootstrap (never at import), so file I/O here is deliberate.
        """
        if self.master_key is not None and not _is_placeholder(self.master_key):
            return decode_master_key(self.master_key.get_secret_value())
        if self.environment != "development":  # unreachable after validation; kept as a guard
            raise ConfigurationError(f"{ENV_PREFIX}MASTER_KEY is required outside development")
        return _load_or_create_dev_master_key(self.data_dir / DEV_MASTER_KEY_FILE)

    def previous_master_keys_bytes(self) -> list[bytes]:
        """Retired master keys that may still unwrap (during a rotation); usually none.

        In development without LFR_MASTER_KEY, `lfr keys rotate` keeps them in a file beside the dev key.
        """
        if self.previous_master_keys is not None:
            return decode_master_keys(self.previous_master_keys.get_secret_value())
        path = self.data_dir / DEV_PREVIOUS_MASTER_KEYS_FILE
        if self.uses_dev_master_key and path.exists():
            return decode_master_keys(path.read_text())
        return []

    @property
    def uses_dev_master_key(self) -> bool:
        """True when the master key is the development file under data_dir (no LFR_MASTER_KEY)."""
        unset = self.master_key is None or _is_placeholder(self.master_key)
        return unset and self.environment == "development"


def service_settings_class(service: str) -> type[ServiceSettings]:
    """The one ServiceSettings subclass `lfr_<service>.settings` defines (for tools and tests that start from
    a service's name: the Kubernetes settings check, the security tests)."""
    module = importlib.import_module(f"lfr_{service}.settings")
    found = [
        value
        for value in vars(module).values()
        if inspect.isclass(value)
        and issubclass(value, ServiceSettings)
        and value.__module__ == module.__name__
    ]
    if len(found) != 1:
        raise ConfigurationError(
            f"lfr_{service}.settings should define one ServiceSettings subclass, not {found}"
        )
    return found[0]


def decode_master_key(value: str) -> bytes:
    try:
        key = base64.b64decode(
            value.strip(), altchars=b"-_" if ("-" in value or "_" in value) else None, validate=True
        )
    except (ValueError, TypeError):
        raise ValueError("not valid base64") from None
    if len(key) != MASTER_KEY_BYTES:
        raise ValueError(f"decodes to {len(key)} bytes; need {MASTER_KEY_BYTES}")
    return key


def decode_master_keys(value: str) -> list[bytes]:
    """A comma- (or newline-) separated list of base64 master keys; the error names the bad one by place."""
    items = [item for item in value.replace("\n", ",").split(",") if item.strip()]
    keys = []
    for place, item in enumerate(items, start=1):
        try:
            keys.append(decode_master_key(item))
        except ValueError as error:
            raise ValueError(f"key {place} of {len(items)}: {error}") from None
    return keys


def describe_validation_error(settings_name: str, error: ValidationError) -> str:
    lines = [f"invalid configuration for {settings_name}:"]
    for problem in error.errors():
        location = "__".join(str(part) for part in problem["loc"]).upper()
        variable = f"{ENV_PREFIX}{location}" if location else "(settings)"
        message = problem["msg"].removeprefix("Value error, ")
        lines.append(f"  - {variable}: {message}")
    return "\n".join(lines)


def _is_placeholder(value: SecretStr) -> bool:
    return value.get_secret_value().strip().lower() in _PLACEHOLDERS


def _load_or_create_dev_master_key(path: Path) -> bytes:
    if not path.exists():
        write_file_once(path, base64.b64encode(secrets.token_bytes(MASTER_KEY_BYTES)))
    return decode_master_key(path.read_text().strip())
