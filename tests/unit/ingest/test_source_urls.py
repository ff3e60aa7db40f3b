"""The source-URL allow-list and redaction (pure domain rules)."""

from __future__ import annotations

import pytest
from lfr_ingest.domain.source_url import SourceKind, parse_source_url, redact
from lfr_platform.errors import DomainRuleViolation

MEDIA = "/srv/media"


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("rtsp://cam:pw@10.1.2.3:554/stream1", SourceKind.RTSP),
        ("rtsps://camera.local/stream", SourceKind.RTSP),
        ("http://192.168.1.20/video.mjpg", SourceKind.HTTP_MJPEG),
        ("https://cams.example.org/a.mjpg", SourceKind.HTTP_MJPEG),
        ("file:///srv/media/clip.mp4", SourceKind.FILE),
        ("file:///srv/media/sub/clip.MKV", SourceKind.FILE),
        ("file:///srv/media/a.avi", SourceKind.FILE),
        ("file:///srv/media/stills/", SourceKind.IMAGE_SEQUENCE),
        ("file:///srv/media/stills", SourceKind.IMAGE_SEQUENCE),
    ],
)
def test_allowed_sources(url: str, kind: SourceKind) -> None:
    assert parse_source_url(url, MEDIA).kind is kind


@pytest.mark.parametrize(
    ("url", "code"),
    [
        ("ftp://10.0.0.1/x.mp4", "source_scheme_not_allowed"),
        ("udp://10.0.0.1:1234", "source_scheme_not_allowed"),
        ("10.0.0.1/stream", "source_scheme_not_allowed"),
        ("", "source_url_invalid"),
        ("rtsp://10.0.0.1/a\nb", "source_url_invalid"),
        ("rtsp://10.0.0.1:99999/x", "source_url_invalid"),
        ("http:///video.mjpg", "source_url_invalid"),
        ("rtsp://169.254.169.254/", "source_address_forbidden"),
        ("rtsp://169.254.0.1/", "source_address_forbidden"),
        ("http://[fe80::abcd]/v.mjpg", "source_address_forbidden"),
        ("http://[fd00:ec2::254]/", "source_address_forbidden"),
        ("http://100.100.100.200/", "source_address_forbidden"),
        ("http://0.0.0.0/", "source_address_forbidden"),
        ("http://metadata.google.internal./", "source_address_forbidden"),
        ("file:///srv/mediax/clip.mp4", "source_path_outside_media_root"),
        ("file:///srv/media/../etc/clip.mp4", "source_path_outside_media_root"),
        ("file:///srv/media/%2e%2e/etc/clip.mp4", "source_path_outside_media_root"),
        ("file:///srv/media/clip.exe", "source_file_type_not_allowed"),
        ("file://otherhost/srv/media/clip.mp4", "source_url_invalid"),
        ("file:///srv/media/clip.mp4?x=1", "source_url_invalid"),
    ],
)
def test_refused_sources_name_the_rule(url: str, code: str) -> None:
    with pytest.raises(DomainRuleViolation) as refused:
        parse_source_url(url, MEDIA)
    assert refused.value.code == code
    assert refused.value.http_status == 422


def test_redaction_hides_user_password_and_query_values() -> None:
    assert redact("rtsp://admin:hunter2@10.0.0.1:554/live?auth=xyz&ch=1") == (
        "rtsp://***@10.0.0.1:554/live?auth=***&ch=***"
    )
    assert redact("http://[2001:db8::1]:8080/v.mjpg") == "http://[2001:db8::1]:8080/v.mjpg"
    source = parse_source_url("rtsp://u:secretpw@10.0.0.2/s", MEDIA)
    assert "secretpw" not in repr(source) and "secretpw" not in source.redacted
