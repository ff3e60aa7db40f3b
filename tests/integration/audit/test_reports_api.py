"""Post-deployment reports over REST, folded from a real ledger: JSON figures (following alert and
watchlist streams whose later events do not repeat the deployment id), HTML with charts, a PDF that is
structurally sound (every xref offset points at its object) with pages and chart images, and the public
version without a token and without personal data."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.unit.audit.report_history import DEPLOYMENT, deployment_history

from ._api import Api, running_api

REPORT = f"/api/v1/audit/reports/{DEPLOYMENT}"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'audit.db'}") as running:
        entries = deployment_history().entries
        by_service: dict[str, list[object]] = {}
        for entry in entries:
            by_service.setdefault(entry.source_service, []).append(entry)
        for service_entries in by_service.values():  # arrival grouped by service, as from separate topics
            await running.parts.recorder.offer(service_entries)  # type: ignore[arg-type]
        yield running


async def test_report_json_figures(api: Api) -> None:
    async with api.client("authorising_officer") as client:
        report = (await client.get(REPORT)).json()
    assert report["faces_processed"] == 5000
    assert report["watchlist"]["size"] == 3
    assert report["alerts"]["by_status"] == {"pending": 0, "dismissed": 1, "engaged": 3, "not_reviewed": 1}
    assert (report["alerts"]["true_alerts"], report["alerts"]["false_alerts"]) == (1, 2)
    assert report["false_alert_rate"]["one_in"] == 2500 and report["false_alert_rate"]["within_direction"]
    assert report["time_to_decision_seconds"]["median"] == 25.0
    assert report["deletions"] == {"alert_media": 3, "key:alert_media": 1, "watchlist_media": 2}
    assert report["ledger"]["entries"] == len(deployment_history().entries)


async def test_report_html_has_sections_and_charts(api: Api) -> None:
    async with api.client("oversight") as client:
        response = await client.get(REPORT, headers={"Accept": "text/html"})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    for heading in ("Threshold", "Watchlist", "Alerts and adjudication", "Halts", "Community impact"):
        assert f"<h2>{heading}</h2>" in page
    assert page.count("src='data:image/png;base64,") == 3


def _check_pdf(pdf: bytes) -> int:
    """Structural rendering check (no PDF renderer is installed): header, trailer, every xref entry points
    at the object it names; returns the page count."""
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    start = int(re.findall(rb"startxref\s+(\d+)", pdf)[-1])
    assert pdf[start : start + 4] == b"xref"
    header = re.match(rb"xref\s+(\d+)\s+(\d+)\s+", pdf[start:])
    assert header is not None
    first, count = int(header.group(1)), int(header.group(2))
    table = pdf[start + header.end() :].split(b"\n")
    for number, row in enumerate(table[:count], start=first):
        offset, _generation, kind = row.split()[:3]
        if kind == b"n":
            assert re.match(rb"%d 0 obj" % number, pdf[int(offset) : int(offset) + 20]), number
    return len(re.findall(rb"/Type /Page\b", pdf))


async def test_report_pdf_renders_with_charts(api: Api) -> None:
    async with api.client("oversight") as client:
        response = await client.get(REPORT, params={"format": "pdf"})
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert _check_pdf(response.content) >= 2
    assert len(re.findall(rb"/Subtype /Image", response.content)) >= 3  # three charts (+ alpha masks)


async def test_public_report_needs_no_token_and_holds_no_personal_data(api: Api) -> None:
    async with api.client(None) as client:
        public = await client.get(f"{REPORT}/public")
        pdf = await client.get(f"{REPORT}/public", params={"format": "pdf"})
        html = await client.get(f"{REPORT}/public", params={"format": "html"})
    assert public.status_code == 200 and public.json()["public"] is True
    assert public.json()["faces_processed"] == 5000
    for personal in ("supt-silver", "ch-supt-ao", "wlm-1", "crowd surge", "LA-2026-114", "alert-0"):
        assert personal not in public.text and personal not in html.text
    assert _check_pdf(pdf.content) >= 1
