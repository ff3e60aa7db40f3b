"""Camera source URLs: the allow-list, and redaction (credentials are never logged or returned).

Pure and lexical: a network host given as an IP literal is checked here; names are resolved and checked
again by the source adapter just before it connects (a name can point anywhere, and can change).
"""

from __future__ import annotations

import ipaddress
import posixpath
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import SplitResult, parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from lfr_platform.errors import DomainRuleViolation

VIDEO_FILE_EXTENSIONS = frozenset({".mp4", ".mkv", ".avi", ".mov", ".m4v"})
NETWORK_SCHEMES = frozenset({"rtsp", "rtsps", "http", "https"})
ALLOWED_SCHEMES = NETWORK_SCHEMES | {"file"}
REDACTED = "***"

# Cloud instance-metadata endpoints: reachable from a pod, and they hand out credentials.
METADATA_HOSTS = frozenset(
    {"metadata", "metadata.google.internal", "metadata.goog", "instance-data", "instance-data.ec2.internal"}
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "168.63.129.16")
)


class SourceKind(StrEnum):
    RTSP = "rtsp"
    HTTP_MJPEG = "http_mjpeg"
    FILE = "file"
    IMAGE_SEQUENCE = "image_sequence"


class RtspTransport(StrEnum):
    TCP = "tcp"
    UDP = "udp"


def _refuse(code: str, message: str) -> DomainRuleViolation:
    return DomainRuleViolation(message, code=code)


@dataclass(frozen=True, slots=True)
class SourceUrl:
    """A validated source URL. `url` may hold credentials: keep it sealed at rest, never show it."""

    url: str
    kind: SourceKind
    host: str | None
    path: str | None  # local path for file and image-sequence sources

    @property
    def redacted(self) -> str:
        return redact(self.url)

    def __repr__(self) -> str:  # never let a credential reach a log through repr()
        return f"SourceUrl({self.redacted!r}, {self.kind.value})"


def redact(url: str) -> str:
    """The URL with user, password and every query value replaced by `***`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return REDACTED
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    port = _port(parts)
    if port is not None:
        netloc = f"{netloc}:{port}"
    if parts.username is not None or parts.password is not None:
        netloc = f"{REDACTED}@{netloc}"
    query = urlencode([(k, REDACTED) for k, _ in parse_qsl(parts.query, keep_blank_values=True)], safe="*")
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _port(parts: SplitResult) -> int | None:
    try:
        return parts.port
    except ValueError:
        return None


def check_address(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
    """Refuse link-local, metadata and unspecified addresses (also used on resolved names)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in METADATA_ADDRESSES:
        raise _refuse("source_address_forbidden", f"{address} is a cloud metadata address")
    if address.is_link_local:
        raise _refuse(
            "source_address_forbidden", f"{address} is link-local (169.254.0.0/16, fe80::/10): refused"
        )
    if address.is_unspecified or address.is_multicast:
        raise _refuse("source_address_forbidden", f"{address} is not a camera address")


def parse_source_url(raw: str, media_root: str) -> SourceUrl:
    """Validate `raw` against the allow-list. `media_root` is the absolute folder file sources must be in.

    A `file://` URL names a video file (by extension) or, ending in `/` or without an extension, an
    image-sequence folder; the adapter confirms which on disk."""
    raw = raw.strip()
    if not raw or len(raw) > 2048 or any(ord(ch) < 0x20 for ch in raw):
        raise _refuse("source_url_invalid", "the source URL is empty, too long or has control characters")
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise _refuse("source_url_invalid", "the source URL cannot be parsed") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        raise _refuse(
            "source_scheme_not_allowed",
            f"URL scheme {scheme or '(none)'!r} is not allowed; "
            f"use one of {', '.join(sorted(ALLOWED_SCHEMES))}",
        )
    if scheme == "file":
        return _file_source(parts, raw, media_root)
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise _refuse("source_url_invalid", "a network source URL needs a host")
    if host in METADATA_HOSTS:
        raise _refuse("source_address_forbidden", f"{host} is a cloud metadata host")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        check_address(address)
    kind = SourceKind.RTSP if scheme.startswith("rtsp") else SourceKind.HTTP_MJPEG
    return SourceUrl(raw, kind, host, None)


def _file_source(parts: SplitResult, raw: str, media_root: str) -> SourceUrl:
    if parts.netloc not in ("", "localhost"):
        raise _refuse("source_url_invalid", "a file URL has no host or credentials: file:///path")
    if parts.query or parts.fragment:
        raise _refuse("source_url_invalid", "a file URL has no query or fragment")
    path = unquote(parts.path)
    if not path.startswith("/") or "\x00" in path:
        raise _refuse("source_url_invalid", "a file URL needs an absolute path")
    normal = posixpath.normpath(path)
    root = posixpath.normpath(media_root)
    if normal != root and not normal.startswith(root.rstrip("/") + "/"):
        raise _refuse(
            "source_path_outside_media_root", f"file sources must be inside the media folder {root}"
        )
    extension = posixpath.splitext(normal)[1].lower()
    if path.endswith("/") or not extension:
        kind = SourceKind.IMAGE_SEQUENCE
    elif extension in VIDEO_FILE_EXTENSIONS:
        kind = SourceKind.FILE
    else:
        raise _refuse(
            "source_file_type_not_allowed",
            f"file type {extension!r} is not a video; use {', '.join(sorted(VIDEO_FILE_EXTENSIONS))} "
            "or an image-sequence folder",
        )
    return SourceUrl(raw, kind, None, normal)
